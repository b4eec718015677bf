/* dr_err.c - message table for the DR_E* codes (see dr_err.h). */
#include "dr_err.h"

const char *dr_strerror(int err)
{
    switch (err) {
    case DR_OK:
        return "success";
#define DR_ERR_MSG(name, num, msg)                                             \
    case DR_E##name:                                                           \
        return msg;
        DR_ERRNO_MAP(DR_ERR_MSG)
#undef DR_ERR_MSG
    default:
        return "unknown error";
    }
}

const char *dr_errname(int err)
{
    switch (err) {
    case DR_OK:
        return "DR_OK";
#define DR_ERR_NAME(name, num, msg)                                            \
    case DR_E##name:                                                           \
        return "DR_E" #name;
        DR_ERRNO_MAP(DR_ERR_NAME)
#undef DR_ERR_NAME
    default:
        return "DR_E?";
    }
}
