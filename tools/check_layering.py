#!/usr/bin/env python3
"""Checks the `#include "embed/..."` lines against the layering table of STYLE.md.

Usage: check_layering.py <repo root>. Exits 1 and lists every violation.
A component may include itself and the components listed for it; nothing
outside a component includes its internal/ headers.
"""
import pathlib
import re
import sys

ALLOWED = {
    "base": set(),
    "wire": {"base"},
    "subject": {"base"},
    "auth": {"base"},
    "store": {"base"},
    "net": {"base"},
    "client": {"base", "wire", "subject", "auth", "net"},
    "broker": {"base", "wire", "subject", "auth", "net"},
    "rpc": {"base", "wire", "subject", "client"},
    "transfer": {"base", "client"},
    "auth_service": {"base", "wire", "subject", "auth", "client", "rpc", "store"},
    "file_service": {"base", "wire", "subject", "client", "rpc", "transfer", "store"},
    "server": None,   # composes everything
    "c_api": None,    # public headers of everything (internal/ is still checked)
    "testing": None,  # test-only
}
# The portable core of the client must not reach the native transport.
PORTABLE_DIRS = {"embed/client/internal/client_core": {"base", "wire", "subject"}}
# The protoc plugin uses base (and libprotoc) only, not the rpc runtime it
# generates code for: the include paths its non-test files may use (golden/
# holds generated code, which does include the runtime).
PROTOC_DIRS = {"embed/rpc/protoc": ("embed/base/", "embed/rpc/protoc/")}

INCLUDE = re.compile(r'^\s*#\s*include\s+"embed/([a-z_]+)/([^"]+)"', re.M)


def main(root: pathlib.Path) -> int:
    problems = []
    for path in sorted((root / "embed").rglob("*")):
        if path.suffix not in (".h", ".cc", ".c"):
            continue
        rel = path.relative_to(root)
        component = rel.parts[1]
        text = path.read_text(errors="replace")
        for match in INCLUDE.finditer(text):
            target, header = match.group(1), match.group(2)
            is_test = path.name.endswith(("_test.cc", "_fuzz.cc"))
            included = f"embed/{target}/{header}"
            for prefix, allowed_paths in PROTOC_DIRS.items():
                if str(rel).startswith(prefix + "/") and not is_test and \
                        not str(rel).startswith(prefix + "/golden/") and \
                        not included.startswith(allowed_paths):
                    problems.append(f"{rel}: the protoc plugin may not include {included}")
            if header.startswith("internal/") and target != component:
                problems.append(f"{rel}: includes {target}'s internal header {header}")
            if target == component:
                continue
            allowed = ALLOWED.get(component, set())
            if allowed is not None and target not in allowed and not (is_test and target == "testing"):
                problems.append(f"{rel}: {component} may not include embed/{target}/{header}")
            for prefix, portable in PORTABLE_DIRS.items():
                if str(rel).startswith(prefix) and not is_test and target not in portable:
                    problems.append(f"{rel}: portable core may not include embed/{target}/{header}")
    for problem in problems:
        print(problem)
    print(f"layering: {len(problems)} violation(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
