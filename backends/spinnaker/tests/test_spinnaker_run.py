"""snncc run / compile for a SpiNNaker machine: which builds run sPyNNaker at compile time,
and a run through spalloc as far as sPyNNaker's spalloc client goes without one.

A small HTTP server plays the spalloc service (its login form, login, service root and
job list): the run logs in with the credentials from SPALLOC_USER / SPALLOC_PASSWORD and
asks for a job of the boards sPyNNaker computed; the server then refuses the job, and
snncc reports the failure cleanly.
"""
from __future__ import annotations

import http.server
import json
import shutil
import ssl
import subprocess
import threading
from pathlib import Path
from urllib.parse import parse_qs

import pytest

pytestmark = pytest.mark.spinnaker
pytest.importorskip("spynnaker")

from snncc.cli import main as cli  # noqa: E402
from snncc.compiler import compile_model  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_a_machine_build_leaves_the_spynnaker_pass_to_its_run(tmp_path):
    """-O machine=...: the run maps and generates for the machine it gets, so the compile
    does not do it too (one sPyNNaker pass)."""
    b = compile_model(EXAMPLES / "synfire.yaml", "spinnaker", tmp_path / "b", {"machine": "192.168.240.1"})
    assert not (b.path / "spinnaker").exists()
    emit = b.report()["emit"]
    assert "spynnaker_cores" not in emit and emit["snncc_mapping"]["cores"] == 10
    assert "machine_name = 192.168.240.1" in (b.path / "pynn" / "spynnaker.cfg").read_text()


def test_a_bad_map_timeout_fails_before_any_work(tmp_path, capsys):
    rc = cli(["compile", str(EXAMPLES / "synfire.yaml"), "--target", "spinnaker", "-o", str(tmp_path / "b"),
              "-O", "map_timeout=soon"])
    assert rc == 2 and not (tmp_path / "b").exists()
    assert "-O map_timeout=soon: expected a finite number" in capsys.readouterr().err


class FakeSpalloc(http.server.BaseHTTPRequestHandler):
    """Just enough of the spalloc web service for spinnman's SpallocClient to log in and
    ask for a job; every job is refused."""
    seen: list = []

    def _reply(self, code: int, body: bytes = b"", ctype: str = "application/json", cookie: bool = False):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if cookie:
            self.send_header("Set-Cookie", "JSESSIONID=fake-session; Path=/")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        self.seen.append(("GET", self.path, None))
        if self.path.endswith("system/login.html"):
            form = b'<form><input type="hidden" name="_csrf" value="tok" /></form>'
            return self._reply(200, form, "text/html", cookie=True)
        if self.path.endswith("srv/spalloc/"):
            base = f"https://{self.headers['Host']}/spalloc/srv/spalloc/"
            return self._reply(200, json.dumps({
                "csrf-header": "X-CSRF-TOKEN", "csrf-token": "tok2",
                "version": {"major-version": 1, "minor-version": 0, "revision": 0},
                "machines-ref": base + "machines", "jobs-ref": base + "jobs"}).encode())
        return self._reply(404)

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        self.seen.append(("POST", self.path, body))
        if self.path.endswith("system/perform_login"):
            return self._reply(302, cookie=True)
        return self._reply(503, json.dumps({"message": "no boards today"}).encode())

    def log_message(self, *args):
        pass


def _tls_server(tmp_path) -> tuple[http.server.HTTPServer, Path]:
    """FakeSpalloc over TLS (spinnman talks https to the service) with a throw-away
    certificate for 127.0.0.1; returns the server and the certificate for requests."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test server's certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    server = http.server.HTTPServer(("127.0.0.1", 0), FakeSpalloc)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    return server, cert


@pytest.mark.slow
def test_run_through_spalloc_logs_in_and_asks_for_the_boards(tmp_path, capsys, monkeypatch):
    server, cert = _tls_server(tmp_path)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FakeSpalloc.seen = []
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    url = f"https://127.0.0.1:{server.server_port}/spalloc/"
    try:
        rc = cli(["compile", str(EXAMPLES / "synfire.yaml"), "--target", "spinnaker", "-o",
                  str(tmp_path / "b"), "-O", f"spalloc_server={url}"])
        assert rc == 0 and not (tmp_path / "b" / "spinnaker").exists()   # no pass at compile time
        monkeypatch.setenv("SPALLOC_USER", "alice")
        monkeypatch.setenv("SPALLOC_PASSWORD", "s3cret")
        capsys.readouterr()
        rc = cli(["run", str(tmp_path / "b"), "--timeout", "600"])
        err = capsys.readouterr().err
    finally:
        server.shutdown()
    assert rc == 2 and "snncc: error: the PyNN script failed on pyNN.spiNNaker" in err
    login = [b for m, p, b in FakeSpalloc.seen if p.endswith("perform_login")]
    assert login and parse_qs(login[0])["username"] == ["alice"]
    jobs = [json.loads(b) for m, p, b in FakeSpalloc.seen if m == "POST" and "/jobs" in p]
    assert jobs and jobs[0]["num-boards"] >= 1
    # the password came from the environment and went nowhere into the build
    assert not any(b"s3cret" in f.read_bytes() for f in (tmp_path / "b").rglob("*") if f.is_file())


def test_a_failed_compile_stops_the_early_spynnaker_start(tmp_path, monkeypatch):
    """The sPyNNaker pass's subprocess starts with the compile (its imports run beside the
    passes); a compile that fails stops it and leaves no scratch folder."""
    import tempfile

    from snncc.errors import SnnccError
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    model = tmp_path / "bad.yaml"
    model.write_text("network: {name: bad, dt: 1.0, duration: 10}\n"
                     "populations:\n  p: {cell_type: IF_cond_exp, size: 3}\n")
    with pytest.raises(SnnccError):
        compile_model(model, "spinnaker", tmp_path / "b")
    assert not (tmp_path / "b").exists()
    assert not [p for p in scratch.iterdir() if p.name.startswith("snncc-spinnaker-pass-")]
