"""The SDK imports no Django: every module in a child that refuses it, and a fresh venv."""

from __future__ import annotations

import subprocess
import textwrap
import venv

from tests.subprocess_report import ROOT, run_for_report

SDK = ROOT / "sdk" / "python"


def test_every_sdk_module_imports_with_django_refused():
    """Each module of decision_trace imports while any import of Django raises."""
    code = textwrap.dedent(
        """
        import importlib, importlib.abc, json, pkgutil, sys

        class NoDjango(importlib.abc.MetaPathFinder):
            def find_spec(self, fullname, path, target=None):
                if fullname == "django" or fullname.startswith("django."):
                    raise ImportError(fullname)

        sys.meta_path.insert(0, NoDjango())
        import decision_trace
        names = [m.name for m in pkgutil.walk_packages(decision_trace.__path__, "decision_trace.")]
        for name in names:
            importlib.import_module(name)
        print(json.dumps({"modules": names, "django": [m for m in sys.modules if "django" in m]}))
        """
    )
    report = run_for_report(["-c", code], env={"PATH": "/usr/bin:/bin"})
    assert "decision_trace.http" in report["modules"]
    assert "decision_trace.ecommerce.client" in report["modules"]
    assert report["django"] == []


def test_fresh_venv_with_only_the_sdk_has_no_django(tmp_path):
    """pip install sdk/python into a new virtualenv: httpx comes along, Django does not."""
    target = tmp_path / "venv"
    venv.create(target, with_pip=True)
    python = target / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(SDK)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    code = textwrap.dedent(
        """
        import importlib.util, json
        from decision_trace import DecisionTraceClient
        from decision_trace.ecommerce import EcommerceClient
        client = EcommerceClient("http://127.0.0.1:9", "t")
        event = client.order_created("o-1", "c-1", "5.00", [{"sku": "S", "qty": 1, "price": 5}])
        print(json.dumps({
            "django": importlib.util.find_spec("django") is not None,
            "httpx": importlib.util.find_spec("httpx") is not None,
            "event_type": event.build().event_type,
            "client": DecisionTraceClient.__module__,
        }))
        """
    )
    completed = subprocess.run(
        [str(python), "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == (
        '{"django": false, "httpx": true, "event_type": "order.created", '
        '"client": "decision_trace.client"}'
    )
