#!/usr/bin/env bash
# Copies the llama-server build for this platform (npm run build:llama-server: cached, or
# built from node-llama-cpp's llama.cpp) into resources-extra/llama-server/<platform>-<arch>/,
# the folder electron-builder.yml ships as resources/llama-server (extraResources). The app
# finds it there (electron/engine/server-binary.ts) and serves vision models through it.
# Run before `npm run dist`; a platform without a staged build falls back to llama.node.
# LLAMA_SERVER_VULKAN=1 stages the Vulkan build (GPUs) into <platform>-<arch>-vulkan/ instead:
# run it both ways to ship both. The Vulkan build links the system's Vulkan loader
# (libvulkan.so.1), which GPU drivers install; where it is missing the app never starts it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$(bash "$root/scripts/build-llama-server.sh" | tail -n 1)"
src="$(dirname "$bin")"
platform="$(node -p 'process.platform + "-" + process.arch')"
suffix=""
[[ "${LLAMA_SERVER_VULKAN:-0}" == "1" ]] && suffix="-vulkan"
dest="$root/resources-extra/llama-server/$platform$suffix"

rm -rf "$dest"
mkdir -p "$dest"
cp "$bin" "$dest/"
# Shared libraries the build left beside the binary (none for the static CPU build), and its record.
find "$src" -maxdepth 1 -type f \( -name '*.so*' -o -name '*.dylib' -o -name '*.dll' -o -name BUILD_INFO \) -exec cp {} "$dest/" \;
chmod 755 "$dest/$(basename "$bin")"
echo "stage-llama-server: $dest" >&2
ls -l "$dest" >&2
echo "$dest/$(basename "$bin")"
