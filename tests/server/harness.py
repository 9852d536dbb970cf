#!/usr/bin/env python3
"""Starts and drives the reference intake server behind nginx (TLS, mTLS).

    harness.py start DIR [--max-bytes N]   certificates, nginx config, both servers; writes DIR/env
    harness.py stop DIR                    stops both (also stale ones from pid files)
    harness.py restart-intake DIR          restarts intake.py on its port (table survives)
    harness.py fault DIR MODE [--count N] [--retry-after VALUE]
    harness.py reset DIR                   clears the fault mode, ends stalled requests
    harness.py status DIR                  the fault state and keys in flight (JSON)
    harness.py submissions DIR             per key: receipt, commits, requests, pages, verified (JSON)

Python 3 standard library, the openssl CLI and /usr/sbin/nginx. Everything lives
in DIR: certs/, store/, nginx.conf, logs, pid files, nginx temp folders.
See tests/server/README.md.
"""

import argparse
import base64
import hashlib
import json
import os
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
INTAKE = os.path.join(HERE, "intake.py")
NGINX = os.environ.get("SCANKIOSK_NGINX", "/usr/sbin/nginx")
OPENSSL = os.environ.get("SCANKIOSK_OPENSSL", "openssl")

FAULT_MODES = (
    "error500", "status429", "status503", "close_mid_body", "commit_drop", "stall",
    "garbage_body", "huge_body", "status413", "status422",
)

CERT_FILES = (
    "ca.crt", "ca.key", "ca2.crt", "ca2.key", "server.crt", "server.key",
    "server-other.crt", "server-other.key", "client.crt", "client.key",
    "client-ca2.crt", "client-ca2.key",
)


def die(message):
    sys.stderr.write("harness: %s\n" % message)
    sys.exit(1)


# ---------------------------------------------------------------------------
# Certificates (EC P-256: generation takes milliseconds)


def openssl(*args, cwd):
    res = subprocess.run((OPENSSL,) + args, cwd=cwd, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    if res.returncode != 0:
        die("openssl %s failed: %s" % (args[0], res.stderr.decode(errors="replace").strip()))
    return res.stdout


def make_ca(certs, name, cn):
    openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-keyout", name + ".key", "-out", name + ".crt", "-days", "3650",
            "-subj", "/O=scankiosk tests/CN=" + cn,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=certs)


def make_leaf(certs, name, cn, ca, extensions):
    ext = name + ".ext"
    with open(os.path.join(certs, ext), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n" + extensions)
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", name + ".key", "-out", name + ".csr", "-subj",
            "/O=scankiosk tests/CN=" + cn, cwd=certs)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
            "-CAcreateserial", "-days", "825", "-sha256", "-extfile", ext, "-out", name + ".crt",
            cwd=certs)
    os.unlink(os.path.join(certs, name + ".csr"))
    os.unlink(os.path.join(certs, ext))


def pin_of(certs, key):
    """curl's --pinnedpubkey form: sha256// and base64 of the SPKI's SHA-256."""
    der = openssl("pkey", "-in", key, "-pubout", "-outform", "DER", cwd=certs)
    return "sha256//" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def make_certs(certs):
    if all(os.path.exists(os.path.join(certs, f)) for f in CERT_FILES):
        return  # reuse: pins stay the same across restarts
    os.makedirs(certs, mode=0o700, exist_ok=True)
    server_ext = ("keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                  "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    client_ext = "keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n"
    make_ca(certs, "ca", "scankiosk test CA")
    make_ca(certs, "ca2", "unrelated test CA")
    make_leaf(certs, "server", "localhost", "ca", server_ext)
    make_leaf(certs, "server-other", "localhost", "ca", server_ext)
    make_leaf(certs, "client", "scankiosk-test-device", "ca", client_ext)
    make_leaf(certs, "client-ca2", "scankiosk-unknown-device", "ca2", client_ext)


# ---------------------------------------------------------------------------
# nginx


NGINX_CONF = r"""# Written by tests/server/harness.py; regenerated on every start.
{user}
worker_processes 1;
daemon on;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log info;

events {{
    worker_connections 512;
}}

http {{
    log_format intake '$remote_addr [$time_local] "$request" $status '
                      'in=$request_length out=$bytes_sent upstream=$upstream_status '
                      'key=$http_idempotency_key verify=$ssl_client_verify t=$request_time';
    access_log {dir}/nginx-access.log intake;

    client_body_temp_path {dir}/nginx-tmp/body;
    proxy_temp_path {dir}/nginx-tmp/proxy;
    fastcgi_temp_path {dir}/nginx-tmp/fastcgi;
    uwsgi_temp_path {dir}/nginx-tmp/uwsgi;
    scgi_temp_path {dir}/nginx-tmp/scgi;

    server_tokens off;
    default_type application/json;
    charset_types application/json;

    # Big bodies (intake.py decides about 413); long timeouts so a stall stalls.
    client_max_body_size 4g;
    client_body_timeout 3600s;
    send_timeout 3600s;
    keepalive_timeout 75s;

    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_client_certificate {certs}/ca.crt;
    ssl_verify_client on;
    ssl_verify_depth 2;

    upstream intake {{
        server 127.0.0.1:{intake_port};
    }}

    server {{
        listen 127.0.0.1:{port_main} ssl;
        ssl_certificate {certs}/server.crt;
        ssl_certificate_key {certs}/server.key;
        include {dir}/nginx-locations.conf;
    }}

    server {{
        listen 127.0.0.1:{port_other} ssl;
        ssl_certificate {certs}/server-other.crt;
        ssl_certificate_key {certs}/server-other.key;
        include {dir}/nginx-locations.conf;
    }}
}}
"""

NGINX_LOCATIONS = r"""# Written by tests/server/harness.py.
# No or an invalid client certificate: 401 with JSON, not nginx's HTML 400.
error_page 495 496 = @unauthenticated;
location @unauthenticated {{
    return 401 '{{"error":"client_certificate_required","message":"no valid client certificate"}}\n';
}}

# intake.py closed the connection without an answer (close_mid_body,
# commit_drop, stall ended) or is down: close the client's connection too,
# so the kiosk sees a network error, as it would without a proxy.
error_page 502 504 = @drop;
location @drop {{
    return 444;
}}

location /v1/ {{
    proxy_pass http://intake;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $remote_addr;
    proxy_set_header X-Client-Verify $ssl_client_verify;
    proxy_set_header X-Client-Subject $ssl_client_s_dn;
    proxy_request_buffering off;
    proxy_buffering off;
    proxy_next_upstream off;
    proxy_connect_timeout 5s;
    proxy_send_timeout 3600s;
    proxy_read_timeout 3600s;
}}

# For the benchmark: nginx reads the body and throws it away, then answers.
location = /discard/v1/submissions {{
    if ($request_method != POST) {{
        return 405 '{{"error":"method_not_allowed","message":"use POST"}}\n';
    }}
    {discard}
}}

location / {{
    return 404 '{{"error":"not_found","message":"no such path"}}\n';
}}
"""

DISCARD = r"""# nginx answers at once and reads (and drops) the rest of the body after;
    # the client's transfer still ends only when all of it is sent. The
    # lingering limits keep a slow upload from being cut off.
    lingering_time 3600s;
    lingering_timeout 60s;
    return 201 '{{"receipt":"DISCARD","submission_id":"$http_idempotency_key"}}\n';"""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def user_directive():
    # Only a root master switches users; workers must read DIR and write its
    # temp folders, so they stay the user who owns DIR.
    if os.geteuid() != 0:
        return "# not root: no user directive"
    import grp
    import pwd
    return "user %s %s;" % (pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name)


def write_nginx_conf(d, intake_port, port_main, port_other):
    certs = os.path.join(d, "certs")
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(d, "nginx-tmp", sub), exist_ok=True)
    conf = NGINX_CONF.format(user=user_directive(), dir=d, certs=certs, intake_port=intake_port,
                             port_main=port_main, port_other=port_other)
    locations = NGINX_LOCATIONS.format(discard=DISCARD.format())
    with open(os.path.join(d, "nginx-locations.conf"), "w") as f:
        f.write(locations)
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(conf)


# ---------------------------------------------------------------------------
# Processes


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def children(pid):
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(name))
        except (OSError, ValueError, IndexError):
            pass
    return out


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is as good as gone.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stop_pid(pid_file, marker):
    """Stops the process named in pid_file if its command line has marker."""
    pid = read_pid(pid_file)
    if pid is None:
        return
    line = cmdline(pid)
    if marker not in line:
        # Stale pid file, or the number now belongs to someone else.
        os.unlink(pid_file)
        return
    kids = children(pid)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    for p in [pid] + kids:
        if alive(p):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
    try:
        os.unlink(pid_file)
    except FileNotFoundError:
        pass


def start_intake(d, port, max_bytes):
    port_file = os.path.join(d, "intake.port")
    if os.path.exists(port_file):
        os.unlink(port_file)
    log = open(os.path.join(d, "intake.log"), "ab")
    args = [sys.executable, INTAKE, "--store", os.path.join(d, "store"), "--port", str(port),
            "--port-file", port_file]
    if max_bytes:
        args += ["--max-bytes", str(max_bytes)]
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            start_new_session=True, close_fds=True)
    log.close()
    with open(os.path.join(d, "intake.pid"), "w") as f:
        f.write("%d\n" % proc.pid)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            die("intake.py exited (%d); see %s/intake.log" % (proc.returncode, d))
        if os.path.exists(port_file):
            port = int(open(port_file).read())
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/v1/health" % port, timeout=2):
                    return port
            except OSError:
                pass
        time.sleep(0.02)
    die("intake.py did not come up; see %s/intake.log" % d)


def wait_tls(d, port):
    certs = os.path.join(d, "certs")
    ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
    ctx.load_cert_chain(os.path.join(certs, "client.crt"), os.path.join(certs, "client.key"))
    deadline = time.monotonic() + 10
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen("https://127.0.0.1:%d/v1/health" % port, context=ctx,
                                        timeout=2) as r:
                if r.status == 200:
                    return
        except (OSError, urllib.error.URLError) as exc:
            last = exc
        time.sleep(0.02)
    die("nginx on port %d does not answer (%s); see %s/nginx-error.log" % (port, last, d))


def start_nginx(d, intake_port):
    for _ in range(5):
        port_main, port_other = free_port(), free_port()
        if port_main == port_other:
            continue
        write_nginx_conf(d, intake_port, port_main, port_other)
        with open(os.path.join(d, "nginx-error.log"), "ab") as log:
            res = subprocess.run([NGINX, "-p", d, "-c", os.path.join(d, "nginx.conf"),
                                  "-e", os.path.join(d, "nginx-error.log")],
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        if res.returncode == 0:
            return port_main, port_other
        with open(os.path.join(d, "nginx-error.log"), "rb") as f:
            tail = f.read()[-2000:].decode(errors="replace")
        if "Address already in use" not in tail:
            die("nginx did not start:\n" + tail)
    die("nginx found no free ports")


def strays(d):
    """Processes of this DIR that no pid file names any more: intake.py on its
    store, an nginx master on its config, nginx workers (orphaned when their
    master was killed) holding its log files open."""
    store = os.path.join(d, "store")
    logs = (os.path.join(d, "nginx-error.log"), os.path.join(d, "nginx-access.log"))
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        pid = int(name)
        line = cmdline(pid)
        if INTAKE in line and ("--store %s " % store) in line + " ":
            found.append(pid)
        elif line.startswith("nginx:"):
            if os.path.join(d, "nginx.conf") in line:
                found.append(pid)
                continue
            try:
                fds = os.listdir("/proc/%d/fd" % pid)
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink("/proc/%d/fd/%s" % (pid, fd)) in logs:
                        found.append(pid)
                        break
                except OSError:
                    pass
    return found


def stop_all(d):
    stop_pid(os.path.join(d, "nginx.pid"), os.path.join(d, "nginx.conf"))
    stop_pid(os.path.join(d, "intake.pid"), INTAKE)
    left = [p for p in strays(d) if alive(p)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in left:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and any(alive(p) for p in left):
            time.sleep(0.05)
        left = [p for p in left if alive(p)]
        if not left:
            break


def write_env(d, env):
    tmp = os.path.join(d, "env.tmp")
    with open(tmp, "w") as f:
        f.write("# Written by tests/server/harness.py start; shell-sourceable.\n")
        for key, value in env.items():
            f.write("%s=%s\n" % (key, shlex.quote(str(value))))
    os.rename(tmp, os.path.join(d, "env"))


def read_env(d):
    env = {}
    try:
        with open(os.path.join(d, "env")) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    key, _, value = line.partition("=")
                    env[key] = shlex.split(value)[0] if value else ""
    except OSError:
        die("no %s/env: is the harness started?" % d)
    return env


def cmd_start(args):
    d = os.path.abspath(args.dir)
    os.makedirs(d, exist_ok=True)
    stop_all(d)
    env_file = os.path.join(d, "env")
    if os.path.exists(env_file):
        os.unlink(env_file)
    certs = os.path.join(d, "certs")
    make_certs(certs)
    intake_port = start_intake(d, 0, args.max_bytes)
    try:
        port_main, port_other = start_nginx(d, intake_port)
        wait_tls(d, port_main)
        wait_tls(d, port_other)
    except SystemExit:
        stop_all(d)
        raise
    with open(os.path.join(d, "max-bytes"), "w") as f:
        f.write("%d\n" % (args.max_bytes or 0))
    main = "https://127.0.0.1:%d" % port_main
    env = {
        "INTAKE_URL": main,
        "INTAKE_URL_OTHER_KEY": "https://127.0.0.1:%d" % port_other,
        "CA_FILE": os.path.join(certs, "ca.crt"),
        "CA2_FILE": os.path.join(certs, "ca2.crt"),
        "CLIENT_CERT": os.path.join(certs, "client.crt"),
        "CLIENT_KEY": os.path.join(certs, "client.key"),
        "CLIENT2_CERT": os.path.join(certs, "client-ca2.crt"),
        "CLIENT2_KEY": os.path.join(certs, "client-ca2.key"),
        "PIN": pin_of(certs, "server.key"),
        "PIN_OTHER_KEY": pin_of(certs, "server-other.key"),
        "CONTROL_URL": "http://127.0.0.1:%d/control" % intake_port,
        "STORE_DIR": os.path.join(d, "store"),
        "DISCARD_URL": main + "/discard/v1/submissions",
        "DISCARD_BASE": main + "/discard",
        "SERVER_LOG": os.path.join(d, "intake.log"),
        "NGINX_ERROR_LOG": os.path.join(d, "nginx-error.log"),
        "NGINX_ACCESS_LOG": os.path.join(d, "nginx-access.log"),
    }
    write_env(d, env)
    print(os.path.join(d, "env"))


def cmd_stop(args):
    stop_all(os.path.abspath(args.dir))


def cmd_restart_intake(args):
    d = os.path.abspath(args.dir)
    env = read_env(d)
    port = int(env["CONTROL_URL"].rsplit(":", 1)[1].split("/")[0])
    stop_pid(os.path.join(d, "intake.pid"), INTAKE)
    try:
        max_bytes = int(open(os.path.join(d, "max-bytes")).read()) or None
    except (OSError, ValueError):
        max_bytes = None
    start_intake(d, port, max_bytes)


def control(d, path, payload=None):
    env = read_env(d)
    url = env["CONTROL_URL"] + path
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, method="GET" if data is None else "POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as exc:
        die("control %s: %d %s" % (path, exc.code, exc.read().decode(errors="replace").strip()))
    except OSError as exc:
        die("control %s: %s" % (path, exc))


def cmd_fault(args):
    payload = {"mode": args.mode, "count": args.count}
    if args.retry_after is not None:
        payload["retry_after"] = args.retry_after
    print(json.dumps(control(os.path.abspath(args.dir), "", payload)))


def cmd_reset(args):
    print(json.dumps(control(os.path.abspath(args.dir), "/reset", {})))


def cmd_status(args):
    print(json.dumps(control(os.path.abspath(args.dir), ""), indent=2))


def cmd_submissions(args):
    print(json.dumps(control(os.path.abspath(args.dir), "/submissions"), indent=2,
                     sort_keys=True))


def main():
    ap = argparse.ArgumentParser(description="The reference intake server behind nginx.")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("start", help="certificates, nginx config, start both, write DIR/env")
    p.add_argument("dir")
    p.add_argument("--max-bytes", type=int, help="intake.py answers 413 above this body size")
    p.set_defaults(func=cmd_start)
    p = sub.add_parser("stop", help="stop nginx and intake.py")
    p.add_argument("dir")
    p.set_defaults(func=cmd_stop)
    p = sub.add_parser("restart-intake", help="restart intake.py (the table survives)")
    p.add_argument("dir")
    p.set_defaults(func=cmd_restart_intake)
    p = sub.add_parser("fault", help="switch on a fault mode")
    p.add_argument("dir")
    p.add_argument("mode", choices=FAULT_MODES)
    p.add_argument("--count", type=int, help="requests it applies to (default: until reset)")
    p.add_argument("--retry-after",
                   help="429/503: N (seconds), date+N (HTTP-date N s ahead) or a literal value")
    p.set_defaults(func=cmd_fault)
    p = sub.add_parser("reset", help="clear the fault mode, release stalled requests")
    p.add_argument("dir")
    p.set_defaults(func=cmd_reset)
    p = sub.add_parser("status", help="fault state and keys in flight")
    p.add_argument("dir")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("submissions", help="per key: receipt, commits, requests, pages, verified")
    p.add_argument("dir")
    p.set_defaults(func=cmd_submissions)
    args = ap.parse_args()
    if getattr(args, "count", None) is not None and args.count < 1:
        ap.error("--count must be at least 1")
    args.func(args)


if __name__ == "__main__":
    main()
