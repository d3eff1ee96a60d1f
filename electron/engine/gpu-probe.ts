// Which llama.node build the vision binding should load, decided before loading any.
// Its CUDA builds link the CUDA 12 toolkit's libraries instead of shipping them, and carry
// kernels for one or a few GPU generations only: loading one where a library is missing
// fails, and running it on an uncovered GPU either aborts the engine process (no kernel
// image) or compiles every kernel from PTX first (minutes). So each requirement is
// checked here, and the GPU build is only chosen when all of them are met.
import { execFile } from 'node:child_process'
import { stat } from 'node:fs/promises'
import { posix, win32 } from 'node:path'

/** A CUDA compute capability, "8.9". */
export type ComputeCapability = `${number}.${number}`

interface CudaBuild {
  /** Native code (SASS): runs on the same major version with an equal or higher minor. */
  sass: ComputeCapability[]
  /** PTX: compiled by the driver on first use for this or any later GPU. */
  ptx: ComputeCapability[]
  /** Libraries the build links, each with what to call it when it is missing. */
  libraries: { file: string; what: string }[]
}

const DRIVER = 'NVIDIA driver'

const LINUX_CUDA_12 = [
  { file: 'libcuda.so.1', what: DRIVER },
  { file: 'libcudart.so.12', what: 'CUDA 12 runtime' },
  { file: 'libcublas.so.12', what: 'cuBLAS 12' },
  // libcublas loads it; missing, the build fails to load just the same.
  { file: 'libcublasLt.so.12', what: 'cuBLAS 12' },
  { file: 'libnccl.so.2', what: 'NCCL 2' },
]

/**
 * @fugood/llama.node 1.7.15's CUDA builds, by platform-arch. linux-x64: read from the
 * binary (readelf -d: NEEDED libcudart.so.12, libcublas.so.12, libcuda.so.1, libnccl.so.2;
 * its .nv_fatbin holds 141 fat binaries, each with sm_89 SASS and compute_89 PTX only).
 * linux-arm64 and win32-x64: from the package's build scripts at that release
 * (CMAKE_CUDA_ARCHITECTURES 87 and "86;89;120", CUDA 12.6 and 12.9; a plain number
 * builds SASS and PTX for it). Update this table with the package.
 */
const CUDA_BUILDS: Record<string, CudaBuild> = {
  'linux-x64': { sass: ['8.9'], ptx: ['8.9'], libraries: LINUX_CUDA_12 },
  'linux-arm64': { sass: ['8.7'], ptx: ['8.7'], libraries: LINUX_CUDA_12 },
  'win32-x64': {
    sass: ['8.6', '8.9', '12.0'],
    ptx: ['8.6', '8.9', '12.0'],
    libraries: [
      { file: 'nvcuda.dll', what: DRIVER },
      { file: 'cudart64_12.dll', what: 'CUDA 12 runtime' },
      { file: 'cublas64_12.dll', what: 'cuBLAS 12' },
      { file: 'cublasLt64_12.dll', what: 'cuBLAS 12' },
    ],
  },
}

/** llama.node's Vulkan builds and the loader library each links. */
const VULKAN_LOADERS: Record<string, string> = {
  'linux-x64': 'libvulkan.so.1',
  'linux-arm64': 'libvulkan.so.1',
  'win32-x64': 'vulkan-1.dll',
  'win32-arm64': 'vulkan-1.dll',
}

export interface NvidiaGpu {
  name: string
  computeCapability: ComputeCapability
}

export interface GpuProbeResults {
  /** Every library the GPU builds for this platform need, and whether the loader can find it. */
  libraries: Record<string, boolean>
  /** What nvidia-smi lists ([] when it answers that there is no NVIDIA GPU), or why it could not tell. */
  nvidia: { gpus: NvidiaGpu[] } | { unknown: string }
}

export type VisionVariant = 'cuda' | 'vulkan' | 'default'

export interface VariantChoice {
  variant: VisionVariant
  backend: 'cuda' | 'vulkan' | 'metal' | 'cpu'
  /** Why a better option was passed over, for the user; null when nothing was. */
  reason: string | null
}

/** What the probes touch: the environment, files and commands; tests pass their own. */
export interface ProbeSystem {
  env: Record<string, string | undefined>
  isFile(path: string): Promise<boolean>
  /** A command's standard output; rejects when it cannot run, fails or times out (error.code 'ENOENT', 'ETIMEDOUT'). */
  run(command: string, args: string[], timeoutMs: number): Promise<string>
}

export const NVIDIA_SMI_TIMEOUT_MS = 5000

export function realProbeSystem(): ProbeSystem {
  return {
    env: process.env,
    isFile: (path) =>
      stat(path).then(
        (s) => s.isFile(),
        () => false,
      ),
    run: (command, args, timeoutMs) =>
      new Promise((resolve, reject) => {
        execFile(command, args, { timeout: timeoutMs, encoding: 'utf8', windowsHide: true }, (error, stdout, stderr) => {
          if (!error) return resolve(stdout)
          // execFile reports a timeout as a killed process; name it so the reason can say so.
          if (error.killed) return reject(Object.assign(new Error(`${command} timed out`), { code: 'ETIMEDOUT' }))
          // The tool's own words ("No devices were found") say more than "Command failed".
          reject(Object.assign(new Error((stderr.trim() || stdout.trim() || error.message).slice(0, 500)), { code: error.code }))
        })
      }),
  }
}

/** Probes every requirement of the GPU builds for this platform. Takes about as long as nvidia-smi does (tens of ms). */
export async function probeGpu(platform: NodeJS.Platform, arch: string, system: ProbeSystem = realProbeSystem()): Promise<GpuProbeResults> {
  const key = `${platform}-${arch}`
  const wanted = [...(CUDA_BUILDS[key]?.libraries.map((l) => l.file) ?? []), ...(VULKAN_LOADERS[key] ? [VULKAN_LOADERS[key]] : [])]
  if (wanted.length === 0) return { libraries: {}, nvidia: { gpus: [] } }
  const finder = platform === 'win32' ? windowsLibraryFinder(system) : await linuxLibraryFinder(system, arch)
  const [found, nvidia] = await Promise.all([
    Promise.all(wanted.map(finder)),
    CUDA_BUILDS[key] ? listNvidiaGpus(system) : Promise.resolve({ gpus: [] }),
  ])
  return { libraries: Object.fromEntries(wanted.map((file, i) => [file, found[i]!])), nvidia }
}

/**
 * Where the Linux dynamic loader looks, in its order: LD_LIBRARY_PATH, the build's
 * RUNPATH (/usr/local/cuda/lib64 in llama.node's CUDA build), the ldconfig cache, then
 * the default folders. Versioned toolkit folders (/usr/local/cuda-12.6/lib64) are not
 * searched unless ldconfig knows them, so neither are they here: finding a library the
 * loader cannot would choose a build that then fails to load.
 */
async function linuxLibraryFinder(system: ProbeSystem, arch: string): Promise<(file: string) => Promise<boolean>> {
  const multiarch = arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu'
  const folders = [
    ...(system.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/local/cuda/lib64',
    ...[`/lib/${multiarch}`, `/usr/lib/${multiarch}`, '/lib64', '/usr/lib64', '/lib', '/usr/lib'],
  ]
  const cached = await ldconfigCache(system, arch)
  return async (file) =>
    cached.has(file) ||
    (await anyFile(
      system,
      folders.map((dir) => posix.join(dir, file)),
    ))
}

/** Library names in the ldconfig cache for this architecture ("libcudart.so.12 (libc6,x86-64) => /path"). */
async function ldconfigCache(system: ProbeSystem, arch: string): Promise<Set<string>> {
  const abi = arch === 'arm64' ? 'AArch64' : 'x86-64'
  // ldconfig lives in /sbin, which is not on an ordinary user's PATH on Debian.
  for (const command of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
    const output = await system.run(command, ['-p'], 3000).catch(() => null)
    if (output === null) continue
    const names = new Set<string>()
    for (const line of output.split('\n')) {
      const match = /^\s*(\S+)\s+\(([^)]*)\)\s+=>/.exec(line)
      if (match && match[2]!.split(',').includes(abi)) names.add(match[1]!)
    }
    return names
  }
  return new Set()
}

/** Windows loads DLLs from System32 and PATH; CUDA's installer sets CUDA_PATH (its bin folder is usually on PATH too). */
function windowsLibraryFinder(system: ProbeSystem): (file: string) => Promise<boolean> {
  const systemRoot = system.env.SystemRoot ?? system.env.SYSTEMROOT ?? 'C:\\Windows'
  const folders = [
    win32.join(systemRoot, 'System32'),
    ...(system.env.CUDA_PATH ? [win32.join(system.env.CUDA_PATH, 'bin')] : []),
    ...(system.env.PATH ?? system.env.Path ?? '').split(';').filter(Boolean),
  ]
  return (file) =>
    anyFile(
      system,
      folders.map((dir) => win32.join(dir, file)),
    )
}

async function anyFile(system: ProbeSystem, paths: string[]): Promise<boolean> {
  for (const path of paths) if (await system.isFile(path)) return true
  return false
}

/** The NVIDIA GPUs and their compute capabilities; compute_cap needs driver 510 or later. */
async function listNvidiaGpus(system: ProbeSystem): Promise<GpuProbeResults['nvidia']> {
  let output: string
  try {
    output = await system.run('nvidia-smi', ['--query-gpu=name,compute_cap', '--format=csv,noheader'], NVIDIA_SMI_TIMEOUT_MS)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return { unknown: 'nvidia-smi not found' }
    if (code === 'ETIMEDOUT') return { unknown: `nvidia-smi did not answer within ${NVIDIA_SMI_TIMEOUT_MS / 1000} s` }
    // It exits non-zero with "No devices were found" when the driver sees no GPU.
    if (/no devices were found/i.test((error as Error).message)) return { gpus: [] }
    return { unknown: `nvidia-smi failed: ${(error as Error).message.split('\n')[0]!.slice(0, 200)}` }
  }
  const gpus: NvidiaGpu[] = []
  for (const line of output.split(/\r?\n/).filter((l) => l.trim())) {
    const match = /^(.*),\s*(\d+)\.(\d+)\s*$/.exec(line)
    if (!match) return { unknown: `nvidia-smi gave no compute capability ("${line.trim().slice(0, 100)}")` }
    gpus.push({ name: match[1]!.trim(), computeCapability: `${Number(match[2])}.${Number(match[3])}` })
  }
  return { gpus }
}

const parseCapability = (c: ComputeCapability): { major: number; minor: number } => {
  const [major, minor] = c.split('.').map(Number) as [number, number]
  return { major, minor }
}
const smName = (c: ComputeCapability): string => `sm_${c.replace('.', '')}`

/**
 * CUDA's compatibility rules: SASS built for X.y runs on X.z for z >= y (same major);
 * PTX for X.y is compiled by the driver for any GPU of X.y or later.
 */
export function cudaCoverage(
  build: { sass: ComputeCapability[]; ptx: ComputeCapability[] },
  gpu: ComputeCapability,
): 'native' | 'ptx' | 'none' {
  const g = parseCapability(gpu)
  if (build.sass.map(parseCapability).some((s) => s.major === g.major && s.minor <= g.minor)) return 'native'
  if (build.ptx.map(parseCapability).some((p) => p.major < g.major || (p.major === g.major && p.minor <= g.minor))) return 'ptx'
  return 'none'
}

/**
 * The llama.node build to load, best first: CUDA, then Vulkan, then the CPU (on macOS the
 * default build, which uses Metal on Apple silicon). Pure: probeGpu() gathers its input.
 */
export function chooseVisionVariant(
  probes: GpuProbeResults,
  platform: NodeJS.Platform,
  arch: string,
  options: { cpuOnly: boolean },
): VariantChoice {
  if (options.cpuOnly) return { variant: 'default', backend: 'cpu', reason: 'Running on CPU: CPU only is on in Settings.' }
  if (platform === 'darwin') {
    return arch === 'arm64'
      ? { variant: 'default', backend: 'metal', reason: null }
      : { variant: 'default', backend: 'cpu', reason: 'Running on CPU: llama.cpp does not support Metal on Intel Macs.' }
  }
  const key = `${platform}-${arch}`
  const vulkanLoader = VULKAN_LOADERS[key]
  const vulkanMissing = !vulkanLoader
    ? `there is no Vulkan build for ${key}`
    : probes.libraries[vulkanLoader]
      ? null
      : `Vulkan loader not found (${vulkanLoader})`
  const cuda = cudaVerdict(CUDA_BUILDS[key], probes)

  if (cuda.use === 'native') return { variant: 'cuda', backend: 'cuda', reason: null }
  // Kernels compiled from PTX on first start: worth the wait only when Vulkan cannot run instead.
  if (cuda.use === 'ptx' && vulkanMissing) {
    return {
      variant: 'cuda',
      backend: 'cuda',
      reason: `Using CUDA, slow on first start: ${cuda.why}, so its kernels are compiled from PTX first (this can take minutes); ${vulkanMissing}.`,
    }
  }
  if (!vulkanMissing) {
    const why = cuda.use === 'ptx' ? `${cuda.why}; CUDA would compile its kernels from PTX on first start (minutes)` : cuda.why
    return { variant: 'vulkan', backend: 'vulkan', reason: why ? `Using Vulkan: ${why}.` : null }
  }
  return { variant: 'default', backend: 'cpu', reason: `Running on CPU: ${cuda.why ?? 'no NVIDIA GPU found'}; ${vulkanMissing}.` }
}

/** Whether the CUDA build can run here, natively or through PTX, and if not why; why is null when there is no NVIDIA GPU to speak of. */
function cudaVerdict(build: CudaBuild | undefined, probes: GpuProbeResults): { use: 'native' | 'ptx' | 'no'; why: string | null } {
  const gpus = 'gpus' in probes.nvidia ? probes.nvidia.gpus : null
  const has = (file: string): boolean => probes.libraries[file] === true
  const driver = build?.libraries.find((l) => l.what === DRIVER)
  // No NVIDIA GPU: nvidia-smi lists none, or neither it nor the driver's library is there.
  if (!build || gpus?.length === 0 || (gpus === null && !(driver && has(driver.file)))) return { use: 'no', why: null }
  const missing = build.libraries.filter((l) => !has(l.file))
  if (missing.length > 0) {
    const named = [...new Set(missing.map((l) => l.what))].map(
      (what) =>
        `${what} not found (${missing
          .filter((l) => l.what === what)
          .map((l) => l.file)
          .join(', ')})`,
    )
    return { use: 'no', why: named.join(', ') }
  }
  const kernels = `the CUDA build has kernels for ${build.sass.map(smName).join(', ')} only`
  if (gpus === null)
    return {
      use: 'no',
      why: `${kernels} and this GPU's compute capability is unknown (${'unknown' in probes.nvidia ? probes.nvidia.unknown : ''})`,
    }
  // llama.cpp uses every visible GPU, so every one of them must be covered.
  const coverage = gpus.map((gpu) => ({ gpu, covered: cudaCoverage(build, gpu.computeCapability) }))
  const uncovered = coverage.find((c) => c.covered === 'none')
  if (uncovered) return { use: 'no', why: `${kernels}; this GPU (${uncovered.gpu.name}) is ${smName(uncovered.gpu.computeCapability)}` }
  const jit = coverage.find((c) => c.covered === 'ptx')
  if (jit) return { use: 'ptx', why: `${kernels}; this GPU (${jit.gpu.name}) is ${smName(jit.gpu.computeCapability)}` }
  return { use: 'native', why: null }
}
