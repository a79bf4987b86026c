"""pip-audit over the installed packages: fail on a known vulnerability unless it is listed,
with a reason, in ``.ci/audit-allow.txt``; say loudly when the vulnerability data could not be
reached, instead of passing as if the packages had been checked.

    python3 .ci/audit.py                    # exit 1: a vulnerability; 2: could not check
    python3 .ci/audit.py --unreachable warn # exit 0 when the data cannot be reached (said so)

pip-audit asks PyPI's JSON API for each installed version (``/pypi/NAME/VERSION/json``) and,
when that fails, ``--service osv`` asks api.osv.dev. A package answered "not found" by both is
not audited; when most of them are, the data source was not reachable (a proxy that serves
only the simple index, or no network).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ALLOW = Path(__file__).with_name("audit-allow.txt")


def allowed() -> dict[str, str]:
    """``ID reason…`` per line; ``#`` comments; a line without a reason is refused."""
    out: dict[str, str] = {}
    for n, line in enumerate(ALLOW.read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        vuln, _, reason = line.partition(" ")
        if not reason.strip():
            sys.exit(f"{ALLOW}:{n}: {vuln} is listed without a reason")
        out[vuln] = reason.strip()
    return out


def audit(service: str, ignore: dict[str, str]) -> tuple[dict[str, object] | None, str]:
    cmd = [sys.executable, "-m", "pip_audit", "-f", "json", "--progress-spinner", "off",
           "-s", service]
    for vuln in ignore:
        cmd += ["--ignore-vuln", vuln]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    try:
        return json.loads(run.stdout), run.stderr
    except json.JSONDecodeError:
        return None, (run.stderr or run.stdout)[-2000:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unreachable", choices=["fail", "warn"], default="fail")
    args = parser.parse_args()
    ignore = allowed()
    for vuln, reason in ignore.items():
        print(f"pip-audit: {vuln} allowed: {reason}")
    tried = []
    for service in ("pypi", "osv"):
        report, err = audit(service, ignore)
        if report is None:
            tried.append(f"{service}: {err.strip().splitlines()[-1] if err.strip() else '?'}")
            continue
        deps = report.get("dependencies", [])
        assert isinstance(deps, list)
        skipped = [d for d in deps if "skip_reason" in d]
        if len(skipped) * 2 > len(deps):
            tried.append(f"{service}: {len(skipped)} of {len(deps)} packages not found "
                         f"({skipped[0]['skip_reason']})")
            continue
        found = [(d["name"], d["version"], v["id"], ", ".join(v.get("fix_versions") or []))
                 for d in deps for v in d.get("vulns", [])]
        for name, version, vuln, fix in found:
            print(f"pip-audit: VULNERABLE {name} {version}: {vuln} (fixed in {fix or '?'})")
        print(f"pip-audit ({service}): {len(deps) - len(skipped)} packages audited, "
              f"{len(skipped)} not auditable ({', '.join(d['name'] for d in skipped)}), "
              f"{len(found)} known vulnerabilities not allowed")
        return 1 if found else 0
    print("pip-audit: NOT AUDITED: the vulnerability data could not be reached; no package "
          "was checked.\n  " + "\n  ".join(tried), file=sys.stderr)
    return 0 if args.unreachable == "warn" else 2


if __name__ == "__main__":
    sys.exit(main())
