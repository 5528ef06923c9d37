#!/usr/bin/env python3
"""Builds a libFuzzer binary for one Fuzz/<Target>/ directory (see Fuzz/README.md).

The package's own debug build (`swift build`) provides the dependencies' Swift modules and
objects. This script recompiles only the package modules the target names (in its
`// fuzz-modules:` line, default `WireCore`) with `-sanitize=fuzzer,address`, reusing the exact
compiler arguments SwiftPM recorded in .build/debug.yaml, so coverage guidance and ASan cover
our code; dependency objects (NIO, ...) are linked uninstrumented from a static archive.

Usage: fuzz_build.py ROOT TARGET  -> prints the path of the built fuzzer binary
"""
import glob
import json
import os
import re
import subprocess
import sys


def run(args, **kwargs):
    result = subprocess.run(args, **kwargs)
    if result.returncode != 0:
        sys.exit(f"fuzz_build: command failed ({result.returncode}): {' '.join(args[:6])} ...")
    return result


def module_args(manifest_text, module):
    """The swiftc arguments SwiftPM used for `module` (from debug.yaml)."""
    pattern = re.compile(r'^  "C\.' + re.escape(module) + r'-[^"]*debug\.module":\n(?:    .*\n)*?    args: (\[.*\])$', re.M)
    match = pattern.search(manifest_text)
    if not match:
        sys.exit(f"fuzz_build: module {module} not found in .build/debug.yaml; run swift build first")
    return json.loads(match.group(1))


def resolve_modules(root, manifest, imports):
    """Package modules to instrument when the target has no `// fuzz-modules:` line: the package
    modules it imports plus their package-module dependencies, dependencies first."""
    sources_dir = os.path.join(root, "Sources")
    package = {name for name in os.listdir(sources_dir)
               if glob.glob(os.path.join(sources_dir, name, "**", "*.swift"), recursive=True)}

    def dependencies(module):
        match = re.search(r'^  "C\.' + re.escape(module) + r'-[^"]*debug\.module":\n    tool: .*\n    inputs: (\[.*\])$',
                          manifest, re.M)
        if not match:
            return []
        inputs = json.loads(match.group(1))
        names = [os.path.basename(i)[:-len(".swiftmodule")] for i in inputs if i.endswith(".swiftmodule")]
        return [n for n in names if n in package and n != module]

    ordered, visiting = [], set()

    def visit(module):
        if module in ordered or module in visiting:
            return
        visiting.add(module)
        for dep in dependencies(module):
            visit(dep)
        ordered.append(module)

    for name in ["WireCore"] + imports:
        if name in package:
            visit(name)
    return ordered


def instrumented_compile_args(args, out_dir, module):
    """Rewrites SwiftPM's incremental per-file compile into one whole-module instrumented compile."""
    drop_with_value = {"-output-file-map", "-index-store-path", "-emit-module-path", "-emit-objc-header-path"}
    drop = {"-emit-dependencies", "-incremental", "-enable-batch-mode", "-serialize-diagnostics",
            "-Onone", "-c", "-emit-module", "-parse-as-library", "-enable-testing"}
    result, sources = [], []
    iterator = iter(args[1:])
    for arg in iterator:
        if arg in ("-Xcc", "-Xfrontend", "-Xlinker"):
            result += [arg, next(iterator)]
        elif arg in drop_with_value:
            next(iterator)
        elif arg in drop or re.fullmatch(r"-j\d+", arg):
            continue
        elif arg.startswith("@"):
            with open(arg[1:]) as f:
                sources += [line.strip() for line in f if line.strip()]
        elif arg == "-I":
            result += ["-I", os.path.join(out_dir, "Modules"), "-I", next(iterator)]
        else:
            result.append(arg)
    return [args[0]] + result + [
        "-parse-as-library", "-enable-testing", "-wmo", "-O", "-g",
        "-sanitize=fuzzer,address",
        "-emit-module", "-emit-module-path", os.path.join(out_dir, "Modules", module + ".swiftmodule"),
        "-c", "-o", os.path.join(out_dir, module + ".o"),
    ] + sources


def main():
    root, target = sys.argv[1], sys.argv[2]
    target_dir = os.path.join(root, "Fuzz", target)
    target_sources = sorted(glob.glob(os.path.join(target_dir, "*.swift")))
    if not target_sources:
        sys.exit(f"fuzz_build: no Swift sources in {target_dir}")
    with open(os.path.join(root, ".build", "debug.yaml")) as f:
        manifest = f.read()
    # `// fuzz-include: <path relative to the target folder>` adds a shared source (Fuzz/Shared/...).
    for source in list(target_sources):
        with open(source) as f:
            for line in f:
                match = re.match(r"\s*//\s*fuzz-include:\s*(.+)", line)
                if match:
                    target_sources += [os.path.normpath(os.path.join(target_dir, p)) for p in match.group(1).split()]
    modules = None
    imports = []
    for source in target_sources:
        with open(source) as f:
            for line in f:
                match = re.match(r"\s*//\s*fuzz-modules:\s*(.+)", line)
                if match:
                    modules = match.group(1).split()
                match = re.match(r"\s*(?:@testable\s+)?import\s+(?:struct\s+|enum\s+|class\s+)?(\w+)", line)
                if match:
                    imports.append(match.group(1))
    if modules is None:
        modules = resolve_modules(root, manifest, imports)
    if len(sys.argv) > 3 and sys.argv[3] == "--print-modules":
        print(" ".join(modules))
        return
    build_dir = os.path.realpath(os.path.join(root, ".build", "debug"))
    out_dir = os.path.join(root, "Fuzz", "out", target)
    os.makedirs(out_dir, exist_ok=True)
    # Instrumented modules are shared by all targets and rebuilt when a source is newer.
    module_dir = os.path.join(root, "Fuzz", "out", ".instrumented")
    os.makedirs(os.path.join(module_dir, "Modules"), exist_ok=True)

    last_args = None
    rebuilt = False
    for module in modules:
        args = module_args(manifest, module)
        command = instrumented_compile_args(args, module_dir, module)
        object_path = os.path.join(module_dir, module + ".o")
        sources = [a for a in command if a.endswith(".swift")]
        stale = (rebuilt or not os.path.exists(object_path)
                 or any(os.path.getmtime(src) > os.path.getmtime(object_path) for src in sources))
        if stale:
            print(f"fuzz_build: compiling {module} with -sanitize=fuzzer,address", file=sys.stderr)
            run(command)
            rebuilt = True
        last_args = args

    # Everything else the package build produced, as an archive: the linker takes only what is used.
    excluded = {module + ".build" for module in modules}  # replaced by the instrumented copies
    objects = []
    for directory in sorted(glob.glob(os.path.join(build_dir, "*.build"))):
        name = os.path.basename(directory)
        if name in excluded or name.endswith("Tests.build") or "PackageDiscoveredTests" in name:
            continue
        objects += glob.glob(os.path.join(directory, "**", "*.o"), recursive=True)
    archive = os.path.join(out_dir, "libfuzzdeps.a")
    if os.path.exists(archive):
        os.remove(archive)
    run(["ar", "rcs", archive] + objects)
    autolink = subprocess.run(["swift-autolink-extract"] + objects + ["-o", "-"],
                              capture_output=True, text=True).stdout.split()

    # The link: the target's sources + instrumented modules + dependency archive + system libraries.
    compile_flags = []
    iterator = iter(last_args[1:])
    for arg in iterator:
        if arg == "-Xcc":
            compile_flags += [arg, next(iterator)]
        elif arg in ("-module-cache-path", "-swift-version", "-target", "-package-name"):
            compile_flags += [arg, next(iterator)]
        elif arg in ("-enable-upcoming-feature", "-enable-experimental-feature"):
            compile_flags += [arg, next(iterator)]
        elif arg.startswith("-D"):
            compile_flags.append(arg)
    binary = os.path.join(out_dir, target)
    link = (["swiftc", "-parse-as-library", "-O", "-g", "-sanitize=fuzzer,address", "-module-name", "FuzzTarget",
             "-use-ld=lld", "-I", os.path.join(module_dir, "Modules"), "-I", os.path.join(build_dir, "Modules")]
            + compile_flags + target_sources + [os.path.join(module_dir, m + ".o") for m in modules]
            + ["-L", out_dir, "-lfuzzdeps"]
            + [flag for flag in dict.fromkeys(autolink) if flag.startswith("-l")]
            + ["-lz", "-llz4", "-lsnappy", "-lzstd", "-lstdc++", "-o", binary])
    print(f"fuzz_build: linking {binary}", file=sys.stderr)
    run(link)
    print(binary)


if __name__ == "__main__":
    main()
