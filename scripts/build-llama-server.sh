#!/usr/bin/env bash
# Builds llama-server from the llama.cpp source node-llama-cpp ships
# (node_modules/node-llama-cpp/llama/gitRelease.bundle) and caches it outside
# the clone, keyed by the bundle's commit:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/local-vision-assistant/llama-server/<commit>/llama-server
# A second run with the cache present returns at once. The binary's path is the
# last line on stdout. Used by benchmarks (bench:engine, bench:remote) and by the
# remote-engine tests, which skip without it; .ci/run builds it before npm test.
#
# The patches in scripts/llama-cpp-patches/ are applied first (each is written
# to be offered upstream, its measurements in its message), and the cache key
# becomes <commit>-<first 12 hex digits of the SHA-256 of the patches, in name
# order>, so a changed patch is a new build (electron/engine/server-binary.ts
# computes the same key to find it).
#
# Env: LLAMA_SERVER_JEMALLOC=0 builds without jemalloc (see below). LLAMA_SERVER_NATIVE=1
# builds with -DGGML_NATIVE=ON into <key>-native/
# (faster on this CPU only; the default build is portable to machines of the
# same kind). LLAMA_SERVER_VULKAN=1 builds the GPU variant (-DGGML_VULKAN=ON, the CPU
# backend too) into <key>-vulkan/: the engine serves a model through it where a Vulkan GPU is
# found (electron/engine/engine.ts); it needs Debian's libvulkan-dev, glslc and spirv-headers
# (patch 0019 lets Debian 12's Vulkan 1.3.239 headers build it). LLAMA_SERVER_STOCK=1 builds llama.cpp as shipped, without the
# patches, into <commit>/ (benchmarks compare the two). LLAMA_SERVER_JOBS
# (default 2) sets the build parallelism. --print-dest prints the cache folder
# and builds nothing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
llama_dir="$root/node_modules/node-llama-cpp/llama"
bundle="$llama_dir/gitRelease.bundle"
info="$llama_dir/llama.cpp.info.json"

if [[ ! -f "$bundle" ]]; then
  echo "build-llama-server: $bundle not found; run npm install first" >&2
  exit 1
fi

if ! command -v git >/dev/null; then
  echo "build-llama-server: missing git; install it with: sudo apt-get install -y git" >&2
  exit 1
fi

heads="$(git bundle list-heads "$bundle")"
commit="$(awk '$2 == "HEAD" { print $1; exit }' <<<"$heads")"
[[ -n "$commit" ]] || commit="$(awk 'NR == 1 { print $1 }' <<<"$heads")"
if [[ -z "$commit" ]]; then
  echo "build-llama-server: no commit in $bundle" >&2
  exit 1
fi
patch_dir="$root/scripts/llama-cpp-patches"
patches=()
if [[ "${LLAMA_SERVER_STOCK:-0}" != "1" && -d "$patch_dir" ]]; then
  while IFS= read -r -d '' f; do patches+=("$f"); done < <(find "$patch_dir" -maxdepth 1 -name '*.patch' -print0 | LC_ALL=C sort -z)
fi
key="$commit"
if ((${#patches[@]})); then
  # sha256sum on Linux, shasum on macOS.
  if command -v sha256sum >/dev/null; then hash=(sha256sum); else hash=(shasum -a 256); fi
  key="$commit-$(cat "${patches[@]}" | "${hash[@]}" | cut -c1-12)"
fi
tag="$(sed -n 's/.*"tag": *"\([^"]*\)".*/\1/p' "$info" 2>/dev/null || true)"

native="${LLAMA_SERVER_NATIVE:-0}"
vulkan="${LLAMA_SERVER_VULKAN:-0}"
suffix=""
native_flag="OFF"
vulkan_flag="OFF"
if [[ "$native" == "1" && "$vulkan" == "1" ]]; then
  # The GPU variant ships to other machines: it stays portable.
  echo "build-llama-server: LLAMA_SERVER_NATIVE=1 and LLAMA_SERVER_VULKAN=1 do not go together" >&2
  exit 1
fi
if [[ "$native" == "1" ]]; then
  suffix="-native"
  native_flag="ON"
fi
if [[ "$vulkan" == "1" ]]; then
  suffix="-vulkan"
  vulkan_flag="ON"
fi
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/local-vision-assistant/llama-server"
dest="$cache_root/$key$suffix"

if [[ "${1:-}" == "--print-dest" ]]; then
  echo "$dest"
  exit 0
fi

if [[ -x "$dest/llama-server" ]]; then
  echo "$dest/llama-server"
  exit 0
fi

missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v g++ >/dev/null || missing+=(g++)
command -v make >/dev/null || command -v ninja >/dev/null || missing+=(make)
# Patch 0018 links jemalloc statically as llama-server's malloc on Linux (faster request handling,
# measured in the patch's message); its static archive is Debian and Ubuntu's libjemalloc-dev.
# LLAMA_SERVER_JEMALLOC=0 builds with the C library's malloc instead (a distribution without the
# static archive); BUILD_INFO says which malloc a build has.
jemalloc=()
if [[ "$(uname -s)" == "Linux" && "${LLAMA_SERVER_JEMALLOC:-1}" != "0" ]] && grep -qs "LLAMA_SERVER_JEMALLOC" "${patches[@]}" /dev/null; then
  jemalloc=(-DLLAMA_SERVER_JEMALLOC=ON)
  found_jemalloc=""
  for dir in /usr/lib/*-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
    [[ -f "$dir/libjemalloc_pic.a" || -f "$dir/libjemalloc.a" ]] && found_jemalloc=1 && break
  done
  if [[ -z "$found_jemalloc" ]]; then
    missing+=(libjemalloc-dev)
    echo "build-llama-server: no static jemalloc (libjemalloc_pic.a); install it, or build with LLAMA_SERVER_JEMALLOC=0" >&2
  fi
fi
if [[ "$vulkan" == "1" ]]; then
  # ggml-vulkan compiles its shaders with glslc and includes the Vulkan and SPIR-V headers.
  command -v glslc >/dev/null || missing+=(glslc)
  [[ -f /usr/include/vulkan/vulkan.h ]] || pkg-config --exists vulkan 2>/dev/null || missing+=(libvulkan-dev)
  [[ -d /usr/include/spirv ]] || missing+=(spirv-headers)
fi
if ((${#missing[@]})); then
  echo "build-llama-server: missing ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

jobs="${LLAMA_SERVER_JOBS:-2}"
work="$(mktemp -d "${TMPDIR:-/tmp}/llama-server-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# ccache, where it is installed (llama.cpp's CMake launches the compiler through it when it is
# found, GGML_CCACHE): each object is kept by its preprocessed source and flags, outside the
# clone, so a changed patch recompiles only the files it touches and the Vulkan build takes
# the CPU build's objects instead of compiling them again. The sources sit in a new temporary
# folder each time: CCACHE_BASEDIR makes the paths under it relative, so they hash alike.
ccache_note="no ccache"
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR="$work"
  export CCACHE_DIR="${CCACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/local-vision-assistant/ccache}"
  export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-2G}"
  ccache --zero-stats >/dev/null 2>&1 || true
  ccache_note="ccache in $CCACHE_DIR"
fi

echo "build-llama-server: llama.cpp ${tag:-?} ($commit, ${#patches[@]} patches), GGML_NATIVE=$native_flag, GGML_VULKAN=$vulkan_flag, -j$jobs, $ccache_note (about 9 minutes on 2 cores, 8 more with Vulkan, less with ccache's objects)" >&2
start=$(date +%s)
git -c advice.detachedHead=false clone --quiet "$bundle" "$work/llama.cpp" >&2
git -C "$work/llama.cpp" checkout --quiet "$commit" >&2
for p in "${patches[@]}"; do
  echo "build-llama-server: applying $(basename "$p")" >&2
  git -C "$work/llama.cpp" apply "$p" >&2
done
cmake -S "$work/llama.cpp" -B "$work/llama.cpp/build" \
  -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_CURL=OFF \
  -DLLAMA_BUILD_TESTS=OFF \
  -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_BUILD_SERVER=ON \
  -DGGML_NATIVE="$native_flag" \
  -DGGML_VULKAN="$vulkan_flag" \
  "${jemalloc[@]}" >&2
cmake --build "$work/llama.cpp/build" -j"$jobs" --target llama-server >&2

bin="$work/llama.cpp/build/bin/llama-server"
if [[ ! -x "$bin" ]]; then
  echo "build-llama-server: build finished without $bin" >&2
  exit 1
fi

# Copy into a temporary folder beside the cache entry, then rename it into
# place, so a half-written cache is never taken for a finished one.
mkdir -p "$cache_root"
staging="$(mktemp -d "$cache_root/.staging.XXXXXX")"
cp "$bin" "$staging/llama-server"
# Static build: only system libraries should remain. Copy any shared library
# that came from the build tree (none expected with BUILD_SHARED_LIBS=OFF).
while read -r lib; do
  [[ -n "$lib" ]] && cp "$lib" "$staging/"
done < <(ldd "$bin" | awk '{ print $3 }' | grep -F "$work/" || true)
{
  echo "llama.cpp tag: ${tag:-?}"
  echo "commit: $commit"
  echo "patches:${patches[*]:+ $(for p in "${patches[@]}"; do basename "$p"; done | tr '\n' ' ')}"
  echo "GGML_NATIVE: $native_flag"
  echo "GGML_VULKAN: $vulkan_flag"
  echo "malloc: $([[ ${#jemalloc[@]} -gt 0 ]] && echo "jemalloc, linked statically" || echo "the C library's")"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) in $(($(date +%s) - start)) s on $(uname -m)"
  echo "ldd:"
  ldd "$staging/llama-server" | sed 's/^/  /'
} >"$staging/BUILD_INFO"
rm -rf "$dest"
mv "$staging" "$dest"
echo "build-llama-server: built in $(($(date +%s) - start)) s" >&2
if [[ "$ccache_note" != "no ccache" ]]; then
  ccache --show-stats 2>/dev/null | grep -iE "^(cacheable calls|  hits|  misses|hits|misses)" | sed 's/^/build-llama-server: ccache /' >&2 || true
fi
echo "$dest/llama-server"
