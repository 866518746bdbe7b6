#!/usr/bin/env python3
"""Generate the ONE list of a CUDA library's exported functions.

The set of names comes from the installed library itself (`nm -D`), so the
shim exports exactly what NVIDIA's library exports; every prototype comes
from the installed headers. Per-thread-stream variants (`*_ptds`, `*_ptsz`)
reuse their base function's prototype. Exports that no header declares get an
opaque entry (see OPAQUE below); any other name without a prototype is an
error, so a parser gap cannot silently drop a function.

Outputs:
  <lib>_api.inc   X-macro list, one line per exported function:
                    MOAI_API(ret, name, (params), (args))
                    MOAI_API_VARIANT(ret, name, base, (params), (args))
                    MOAI_API_OPAQUE(name)
  <lib>.map       version-script nodes: every name under the newest node;
                  the older nodes are bound with .symver aliases by the C++
                  side (see interpose/common/export_macros.h). The shim's
                  version script is the concatenation of every library's map.
"""
import argparse
import re
import subprocess
import sys

# Per library: exports that no installed header declares (full-match
# regular expressions). Their callers are NVIDIA's own libraries; we export
# them so lookups never fall through and answer "not supported".
OPAQUE = {
    "cudart": [r"__cudaGetProcAddress", r"__cudaRegisterHostVar", r"__cudaRegisterUnifiedTable"],
    # Banded-matrix kernels, test backdoors and environment hooks.
    "cublas": [r"cublas[SDCZ]bdmm", r"cublas(Get|Set)Backdoor(Ex)?", r"cublas(Get|Set)EnvironmentMode"],
    # Per-type matmul entry points (`cublasLtSSSMatmul...`), the kernels
    # libcublas calls into, heuristics caches and context hooks.
    "cublasLt": [r"cublasLt[A-Z]{3}Matmul\w*", r"cublasLtLegacyGemm[A-Z]{3}", r"cublasLt_for_cublas_[A-Z]{3}",
                 r"cublasLtHeuristic\w*", r"cublasLt(Get|Set)EnvironmentMode", r"cublasLtCtxInit",
                 r"cublasLtShutdownCtx", r"cublasLtClearNvjetCache", r"cublasLtAlgoCharacteristicGetAttribute",
                 r"cublasLtMatmulAlgoConfigGetAttributeRange"],
}

# Per library: suffixes of variants that take their base function's prototype.
VARIANT_SUFFIXES = {"cudart": ("_ptds", "_ptsz")}

ATTRIBUTE_WORDS = {
    "extern", "__host__", "__device__", "__cudart_builtin__", "CUDARTAPI", "CUDAAPI",
    "__CUDA_DEPRECATED", "CUDART_DEPRECATED", "__dv", "static", "inline", "CUBLASAPI",
    "CUBLASWINAPI", "CUDNNWINAPI", "DECLDIR",
}
TYPE_WORDS = {"int", "char", "long", "short", "float", "double", "void", "unsigned",
              "signed", "const", "struct", "enum", "volatile", "size_t"}


def exported_names(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in ("T", "W", "i"):
            names.add(parts[2].split("@")[0])
    return names


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def split_params(params):
    out, depth, cur = [], 0, ""
    for ch in params:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def remove_default_args(param):
    # `int flags __dv(0)` -> `int flags`
    param = re.sub(r"__dv\s*\((?:[^()]|\([^()]*\))*\)", "", param)
    return re.sub(r"\s*=.*$", "", param).strip()  # C++ default argument


def name_param(param, index):
    """Returns (declaration with a guaranteed name, the name)."""
    param = " ".join(remove_default_args(param).split())
    fnptr = re.search(r"\(\s*\*\s*(\w*)\s*\)", param)
    if fnptr:
        name = fnptr.group(1) or f"a{index}"
        decl = param[:fnptr.start()] + f"(*{name})" + param[fnptr.end():]
        return decl, name
    array = re.match(r"^(.*?)(\w+)?\s*(\[[^\]]*\])$", param)
    if array and array.group(2) and array.group(2) not in TYPE_WORDS:
        return param, array.group(2)
    idents = re.findall(r"[A-Za-z_]\w*", param)
    meaningful = [w for w in idents if w not in ("const", "struct", "enum", "volatile")]
    last = idents[-1] if idents else ""
    trailing_ok = re.search(r"[A-Za-z_]\w*\s*$", param) is not None
    if len(meaningful) >= 2 and trailing_ok and last not in TYPE_WORDS:
        return param, last
    name = f"a{index}"
    return f"{param} {name}", name


DECL_RE = re.compile(
    r"(?:(?<=[;}{])|^)\s*((?:extern\s+(?:\"C\"\s+)?)?[\w\s\*]*?)\b(?:CUDARTAPI|CUDAAPI|CUBLASWINAPI|CUDNNWINAPI)\s+"
    r"(\w+)\s*\(([^;{]*?)\)\s*(?:__\w+\s*(?:\([^)]*\))?\s*)*[;{]",
    re.S)


def parse_prototypes(headers):
    protos = {}
    for path in headers:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = strip_comments(f.read())
        text = text.replace("\\\n", " ")  # join macro continuation lines
        text = re.sub(r"^\s*#[^\n]*", " ", text, flags=re.M)  # drop preprocessor lines
        for m in DECL_RE.finditer(text):
            prefix, name, params = m.group(1), m.group(2), m.group(3)
            if name in protos:
                continue
            words = [w for w in prefix.replace("*", " * ").split() if w not in ATTRIBUTE_WORDS
                     and not w.startswith("__CUDA") and w != '"C"']
            ret = " ".join(words).replace(" *", "*").strip()
            if not ret:
                continue
            protos[name] = (ret, params.strip())
    return protos


def entry(name, ret, params, base=None):
    plist = [] if params in ("", "void") else split_params(params)
    decls, args = [], []
    for i, p in enumerate(plist):
        d, n = name_param(p, i)
        decls.append(d)
        args.append(n)
    p = "(" + ", ".join(decls) + ")"
    a = "(" + ", ".join(args) + ")"
    if base:
        return f"MOAI_API_VARIANT({ret}, {name}, {base}, {p}, {a})"
    return f"MOAI_API({ret}, {name}, {p}, {a})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True, help="short name, e.g. cudart")
    ap.add_argument("--library", required=True, help="installed .so to read names from")
    ap.add_argument("--versions", required=True, help="version nodes, oldest first, comma separated")
    ap.add_argument("--out-inc", required=True)
    ap.add_argument("--out-map", required=True)
    ap.add_argument("headers", nargs="+")
    args = ap.parse_args()

    names = exported_names(args.library)
    protos = parse_prototypes(args.headers)
    opaque = re.compile("|".join(f"(?:{p})" for p in OPAQUE.get(args.lib, [])) or "(?!)")
    suffixes = VARIANT_SUFFIXES.get(args.lib, ())
    lines, missing = [], []
    for name in sorted(names):
        if opaque.fullmatch(name) and name not in protos:
            lines.append(f"MOAI_API_OPAQUE({name})")
            continue
        base = next((name[: -len(s)] for s in suffixes if name.endswith(s)), None)
        if base and base in protos:
            ret, params = protos[base]
            lines.append(entry(name, ret, params, base))
        elif name in protos:
            ret, params = protos[name]
            lines.append(entry(name, ret, params))
        else:
            missing.append(name)
    if missing:
        sys.exit(f"gen_api: no prototype in the headers for: {', '.join(missing)}")

    with open(args.out_inc, "w") as f:
        f.write(f"// Generated by interpose/gen/gen_api.py from {args.library} and its headers.\n")
        f.write(f"// {len(lines)} functions. Do not edit.\n")
        f.write("\n".join(lines) + "\n")

    versions = args.versions.split(",")
    with open(args.out_map, "w") as f:
        prev = None
        for v in versions[:-1]:
            f.write(f"{v} {{ }}{(' ' + prev) if prev else ''};\n")
            prev = v
        f.write(f"{versions[-1]} {{\n  global:\n")
        for name in sorted(names):
            f.write(f"    {name};\n")
        f.write("  local: *;\n")
        f.write(f"}}{(' ' + prev) if prev else ''};\n")


if __name__ == "__main__":
    main()
