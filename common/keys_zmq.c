/* keys_zmq.c - a key pair put on a ZeroMQ socket (keys.h); the rest of
 * keys.c needs no libzmq. */
#include "keys.h"
#include "dr_err.h"

#include <string.h>
#include <zmq.h>

int keys_apply_server(void *sock, const dr_keypair_t *kp, const char *domain)
{
    int one = 1;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) < 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, kp->secret_z85,
                       DR_Z85_KEY_LEN) < 0 ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) < 0)
        return DR_EIO;
    return 0;
}

int keys_apply_client(void *sock, const dr_keypair_t *kp,
                      const char *server_public_z85)
{
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_public_z85,
                       DR_Z85_KEY_LEN) < 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, kp->public_z85,
                       DR_Z85_KEY_LEN) < 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, kp->secret_z85,
                       DR_Z85_KEY_LEN) < 0)
        return DR_EIO;
    return 0;
}
