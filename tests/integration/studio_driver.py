#!/usr/bin/python3
"""Drives the Studio page in headless Chromium (test_studio.sh).

Chromium's DevTools protocol over --remote-debugging-pipe: it reads
commands on fd 3 and writes replies and events on fd 4, each a JSON
message ended by a NUL byte.  Standard library only.  The page is used as
a person would: the forms are filled in and submitted, buttons clicked;
what it shows is read from the DOM and checked against the API.

Usage: studio_driver.py CHROMIUM URL ADMIN_TOKEN USER_TOKEN OUT_DIR
Prints one line per step; exits 1 with "FAIL: why" on the first failure.
"""
import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


class Browser:
    def __init__(self, chromium, log_path):
        self.profile = tempfile.mkdtemp(prefix="drover-chromium.")
        to_r, to_w = os.pipe()  # we write, chromium reads (its fd 3)
        from_r, from_w = os.pipe()  # chromium writes (its fd 4), we read
        # out of the way of 3 and 4, so that the child's dup2s cannot collide
        hi_r = fcntl.fcntl(to_r, fcntl.F_DUPFD_CLOEXEC, 10)
        hi_w = fcntl.fcntl(from_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_r)
        os.close(from_w)

        def child():
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)

        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--remote-debugging-pipe", "--user-data-dir=" + self.profile,
             "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking",
             "--disable-dev-shm-usage", "--window-size=1280,900",
             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
            preexec_fn=child, close_fds=False)
        os.close(hi_r)
        os.close(hi_w)
        self.wr = to_w
        self.rd = from_r
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def _read_msg(self, deadline):
        while b"\0" not in self.buf:
            if time.time() > deadline:
                fail("chromium did not answer in time")
            chunk = os.read(self.rd, 1 << 20)
            if not chunk:
                fail("chromium closed its DevTools pipe (see chromium.log)")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=True, timeout=30):
        self.next_id += 1
        mid = self.next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.wr, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self._read_msg(deadline)
            if m.get("id") == mid:
                if "error" in m:
                    fail("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def open(self, url):
        t = self.call("Target.createTarget", {"url": "about:blank"},
                      session=False)
        a = self.call("Target.attachToTarget",
                      {"targetId": t["targetId"], "flatten": True},
                      session=False)
        self.session = a["sessionId"]
        for dom in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.call(dom)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 900, "deviceScaleFactor": 1,
                   "mobile": False})
        self.navigate(url)

    def navigate(self, url):
        self.call("Page.navigate", {"url": url})

    def eval(self, expr):
        r = self.call("Runtime.evaluate",
                      {"expression": expr, "returnByValue": True,
                       "awaitPromise": True})
        if "exceptionDetails" in r:
            fail("page script %r: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def wait(self, expr, what, timeout=30):
        deadline = time.time() + timeout
        # the page may be loading yet: a throw counts as not seen
        # (an element is "seen": it does not come back by value)
        guarded = ("(() => { try { const v = (%s); return v instanceof Node"
                   " || v; } catch (e) { return false; } })()" % expr)
        while time.time() < deadline:
            v = self.eval(guarded)
            if v:
                return v
            time.sleep(0.2)
        shot = self.screenshot(os.path.join(OUT, "failed.png"))
        fail("%s: not seen in %ds (page: %s; screenshot %s)" % (
            what, timeout, self.eval("document.body.innerText")[:600], shot))

    def screenshot(self, path):
        r = self.call("Page.captureScreenshot",
                      {"format": "png", "captureBeyondViewport": True})
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))
        print("screenshot: " + path, flush=True)
        return path

    def problems(self):
        """Script exceptions and CSP violations seen so far."""
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append(json.dumps(p.get("exceptionDetails", {}))[:300])
            elif m == "Log.entryAdded":
                text = p.get("entry", {}).get("text", "")
                if "Content Security Policy" in text:
                    out.append(text)
            elif m == "Runtime.consoleAPICalled" and p.get("type") == "error":
                out.append(json.dumps(p.get("args"))[:300])
        return out

    def close(self):
        try:
            self.call("Browser.close", session=False, timeout=5)
        except SystemExit:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def api(method, path, token, body=None):
    req = urllib.request.Request(URL + "/api/v1" + path, method=method)
    req.add_header("Authorization", "Bearer " + token)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, data, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def js(s):
    return json.dumps(s)


def fill(b, form, values):
    """Sets the named fields of a form, then submits it as a click would."""
    b.eval("""(() => {
      const f = document.querySelector(%s);
      if (!f) throw new Error('no form ' + %s);
      const v = %s;
      for (const k of Object.keys(v)) {
        const el = f.elements[k];
        if (!el) throw new Error('no field ' + k);
        el.value = v[k];
        el.dispatchEvent(new Event('input', {bubbles: true}));
      }
      f.requestSubmit();
      return true;
    })()""" % (js(form), js(form), json.dumps(values)))


def main():
    global URL, OUT
    global USER
    chromium, URL, admin, USER, OUT = sys.argv[1:6]
    os.makedirs(OUT, exist_ok=True)
    b = Browser(chromium, os.path.join(OUT, "chromium.log"))
    try:
        run(b, admin)
    finally:
        b.close()


def run(b, admin):
    b.open(URL + "/")
    b.wait("!document.querySelector('#login').hidden", "the login form")

    # 1. a wrong token: the API says 401 and the page shows it
    fill(b, "#login-form", {"token": "drv_" + "x" * 43})
    err = b.wait("(() => { const e = document.querySelector('#error');"
                 " return !e.hidden && e.textContent.includes('401')"
                 " && e.textContent; })()", "the 401 of a wrong token")
    print("wrong token shown: " + err, flush=True)
    if not b.eval("document.querySelector('#nav').hidden"):
        fail("a wrong token got past the login")
    b.screenshot(os.path.join(OUT, "01-wrong-token.png"))

    # 2. the right one: the clusters view
    fill(b, "#login-form", {"token": admin})
    b.wait("!document.querySelector('#nav').hidden && "
           "document.querySelector('#cluster-form')", "the clusters view")
    if b.eval("sessionStorage.getItem('drover.token')") != admin:
        fail("the token is not kept in sessionStorage")
    who = b.eval("document.querySelector('#who').textContent")
    if "admin" not in who:
        fail("whoami shows %r" % who)

    # 3. create a cluster from the form
    fill(b, "#cluster-form", {
        "name": "studio", "vm_size": "Standard_NC12",
        "vm_priority": "dedicated", "min_nodes": "1", "max_nodes": "2",
        "idle_seconds_before_scaledown": "300", "identity": "system"})
    b.wait("document.querySelector('tr[data-cluster=\"studio\"]')",
           "the new cluster's row")
    st, c = api("GET", "/clusters/studio", admin)
    if st != 200 or c["vm_size"] != "Standard_NC12" or c["min_nodes"] != 1 \
            or c["max_nodes"] != 2 or c["idle_seconds_before_scaledown"] != 300 \
            or c["identity"] != "system":
        fail("the cluster made by the form is not what was typed: %s %s"
             % (st, c))
    print("cluster created from the form: %s" % json.dumps(
        {k: c[k] for k in ("name", "vm_size", "min_nodes", "max_nodes",
                           "identity")}), flush=True)
    # a form error is shown too: the same name again is a 409
    fill(b, "#cluster-form", {"name": "studio", "vm_size": "Standard_NC12"})
    err = b.wait("(() => { const e = document.querySelector('#error');"
                 " return !e.hidden && e.textContent.includes('409')"
                 " && e.textContent; })()", "the 409 of a duplicate cluster")
    print("API error shown: " + err, flush=True)
    b.wait("document.querySelector('tr[data-cluster=\"studio\"] td:nth-child(4)')"
           ".textContent.startsWith('1 /')", "one current node", 60)
    b.screenshot(os.path.join(OUT, "02-clusters.png"))

    # 4. the cluster's page: nodes with GPUs, events, charts
    b.navigate(URL + "/#/clusters/studio")
    b.wait("document.querySelector('tr[data-node] td.state-idle')",
           "an idle node on the cluster page", 60)
    b.wait("document.querySelector('svg#chart-nodes polyline, "
           "svg#chart-nodes circle')", "the node chart")
    b.wait("document.querySelector('svg#chart-gpu')", "the GPU chart")
    gpus = b.eval("document.querySelector('tr[data-node] .gpu').textContent")
    if "#0" not in gpus or "#1" not in gpus:
        fail("the node's GPUs are not shown: %r" % gpus)
    b.wait("document.querySelectorAll('#events tr').length > 1",
           "the cluster's events")
    b.screenshot(os.path.join(OUT, "03-cluster.png"))

    # 5. submit a job from the form; watch it run and its logs
    b.navigate(URL + "/#/jobs")
    b.wait("document.querySelector('#job-form select[name=cluster] "
           "option[value=studio]')", "the job form")
    fill(b, "#job-form", {
        "cluster": "studio", "name": "hello",
        "command": "sh -c 'for i in 1 2 3 4 5 6; do echo studio-line-$i; "
                   "sleep 1; done'"})
    jid = b.wait("(() => { const m = location.hash.match(/^#\\/jobs\\/(\\d+)$/);"
                 " return m && Number(m[1]); })()", "the job's page")
    b.wait("document.querySelector('#job-info').dataset.state === 'running'",
           "job %d running" % jid, 60)
    b.wait("document.querySelector('#logs').textContent.includes('studio-line-1')",
           "the first log line while it runs", 30)
    st = b.eval("document.querySelector('#job-info').dataset.state")
    print("job %d: logs seen live (state %s)" % (jid, st), flush=True)
    b.screenshot(os.path.join(OUT, "04-job-running.png"))
    b.wait("document.querySelector('#job-info').dataset.state === 'succeeded'",
           "job %d succeeded" % jid, 60)
    b.wait("document.querySelector('#logs').dataset.eof === '1'",
           "the end of the logs", 30)
    logs = b.eval("document.querySelector('#logs').textContent")
    want = "".join("studio-line-%d\n" % i for i in range(1, 7))
    if logs != want:
        fail("the page's logs of job %d: %r, expected %r" % (jid, logs, want))
    st, j = api("GET", "/jobs/%d" % jid, admin)
    if j["name"] != "hello" or j["command"][0] != "sh" or len(j["command"]) != 3:
        fail("the job made by the form: %s" % j)
    b.screenshot(os.path.join(OUT, "05-job-done.png"))

    # 6. cancel another job from the jobs list; one that waits behind it
    # shows its predicted start (one node: its 2 GPUs are the long job's)
    st, _ = api("PATCH", "/clusters/studio", admin, {"max_nodes": 1})
    if st != 200:
        fail("PATCH max_nodes: %s" % st)
    b.navigate(URL + "/#/jobs")
    b.wait("document.querySelector('#job-form select[name=cluster] "
           "option[value=studio]')", "the job form")
    fill(b, "#job-form", {"cluster": "studio", "name": "long",
                          "command": "sleep 300", "time_limit_s": "600",
                          "gpus": "2"})
    lid = b.wait("(() => { const m = location.hash.match(/^#\\/jobs\\/(\\d+)$/);"
                 " return m && Number(m[1]) !== %d && Number(m[1]); })()" % jid,
                 "the second job's page")
    b.navigate(URL + "/#/jobs")
    b.wait("document.querySelector('tr[data-job=\"%d\"] button.cancel')" % lid,
           "the cancel button of job %d" % lid)
    st, _ = api("GET", "/jobs/%d" % lid, admin)
    b.wait("document.querySelector('tr[data-job=\"%d\"] td.state-running')"
           % lid, "job %d running" % lid, 60)
    st, r = api("POST", "/jobs", admin, {"cluster": "studio", "gpus": 2,
                                         "name": "behind", "command": ["true"]})
    if st != 201:
        fail("submit behind: %s %s" % (st, r))
    pred = b.wait("(() => { const t = document.querySelector("
                  "'tr[data-job=\"%d\"] td.predicted'); return t && "
                  "/\\(in (9|10)m/.test(t.textContent) && t.textContent; })()"
                  % r["id"], "the predicted start of job %d" % r["id"], 30)
    print("job %d waits; predicted start shown: %s" % (r["id"], pred),
          flush=True)
    b.screenshot(os.path.join(OUT, "06-jobs.png"))
    b.eval("document.querySelector('tr[data-job=\"%d\"] button.cancel').click()"
           % lid)
    b.wait("document.querySelector('tr[data-job=\"%d\"] td.state-canceled')"
           % lid, "job %d canceled in the list" % lid, 30)
    st, j = api("GET", "/jobs/%d" % lid, admin)
    if j["state"] != "canceled":
        fail("job %d is %s after the page's cancel" % (lid, j["state"]))
    print("job %d canceled from the page" % lid, flush=True)
    # the state filter asks the API for those jobs only
    b.eval("(() => { const f = document.querySelector('#filter-state');"
           " f.value = 'canceled'; f.dispatchEvent(new Event('change'));"
           " return true; })()")
    b.wait("(() => { const r = [...document.querySelectorAll('tr[data-job]')];"
           " return r.length && r.every((x) => x.cells[4].textContent === "
           "'canceled') && r.some((x) => x.dataset.job === '%d'); })()" % lid,
           "only canceled jobs under the state filter")
    b.screenshot(os.path.join(OUT, "07-canceled.png"))

    # 7. a value from the API is text, never markup: a command and output
    # that hold HTML
    mark = "<img src=x onerror=alert(1)><b>bold</b>"
    st, x = api("POST", "/jobs", admin, {
        "cluster": "studio", "name": "markup",
        "command": ["sh", "-c", "echo '%s'; sleep 300" % mark]})
    if st != 201:
        fail("submit the markup job: %s %s" % (st, x))
    b.navigate(URL + "/#/jobs/%d" % x["id"])
    b.wait("document.querySelector('#logs').textContent.includes(%s)" % js(mark),
           "the markup job's output", 60)
    seen = b.eval("[document.querySelector('dd[data-key=\"Command\"]')"
                  ".textContent, document.querySelectorAll("
                  "'#main img, #main b').length]")
    if mark not in seen[0] or seen[1] != 0:
        fail("markup from the API became elements: %s" % seen)
    print("markup in a command and its output is shown as text", flush=True)

    # 8. a user (not admin): no cluster form; cancelling the admin's job is
    # refused by the API (403), the page says so and the job still runs
    b.eval("document.querySelector('#logout').click()")
    b.wait("!document.querySelector('#login').hidden", "the login after log out")
    if b.eval("sessionStorage.getItem('drover.token')") is not None:
        fail("log out kept the token")
    fill(b, "#login-form", {"token": USER})
    b.wait("document.querySelector('#who').textContent.includes('(user)')",
           "the user's session")
    b.wait("document.querySelector('#clusters tr[data-cluster]')",
           "the clusters, as a user")
    if b.eval("!!document.querySelector('#cluster-form')"):
        fail("a user is offered the cluster form")
    b.navigate(URL + "/#/jobs")
    b.wait("document.querySelector('tr[data-job=\"%d\"] button.cancel')"
           % x["id"], "job %d, as a user" % x["id"], 30)
    b.eval("document.querySelector('tr[data-job=\"%d\"] button.cancel')"
           ".click()" % x["id"])
    err = b.wait("(() => { const e = document.querySelector('#error');"
                 " return !e.hidden && e.textContent.includes('403')"
                 " && e.textContent; })()", "the 403 of another's cancel")
    st, j = api("GET", "/jobs/%d" % x["id"], admin)
    if j["state"] not in ("queued", "starting", "running"):
        fail("job %d is %s after a user's refused cancel" % (x["id"], j["state"]))
    print("a user's cancel of the admin's job: %s (job still %s)"
          % (err, j["state"]), flush=True)
    b.screenshot(os.path.join(OUT, "08-user-cancel-refused.png"))
    api("POST", "/jobs/%d/cancel" % x["id"], admin)

    probs = b.problems()
    if probs:
        fail("the page had script errors or CSP violations: %s" % probs)
    print("no script errors, no CSP violations", flush=True)


if __name__ == "__main__":
    main()
