import { existsSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  chooseVisionVariant,
  cudaCoverage,
  probeGpu,
  realProbeSystem,
  type GpuProbeResults,
  type NvidiaGpu,
  type ProbeSystem,
} from '../../electron/engine/gpu-probe.js'

const LINUX_CUDA = ['libcuda.so.1', 'libcudart.so.12', 'libcublas.so.12', 'libcublasLt.so.12', 'libnccl.so.2']
const RTX_4090: NvidiaGpu = { name: 'NVIDIA GeForce RTX 4090', computeCapability: '8.9' }
const RTX_3080: NvidiaGpu = { name: 'NVIDIA GeForce RTX 3080', computeCapability: '8.6' }
const H100: NvidiaGpu = { name: 'NVIDIA H100 80GB HBM3', computeCapability: '9.0' }

/** Probe results for a Linux x64 machine: every library present unless named in `without`. */
function linux(gpus: NvidiaGpu[] | { unknown: string }, without: string[] = []): GpuProbeResults {
  const libraries = Object.fromEntries([...LINUX_CUDA, 'libvulkan.so.1'].map((file) => [file, !without.includes(file)]))
  return { libraries, nvidia: Array.isArray(gpus) ? { gpus } : gpus }
}
const choose = (probes: GpuProbeResults, platform: NodeJS.Platform = 'linux', arch = 'x64', cpuOnly = false) =>
  chooseVisionVariant(probes, platform, arch, { cpuOnly })

describe('choosing the llama.node build', () => {
  it('uses CUDA on a GPU the build has native kernels for, with every library present', () => {
    expect(choose(linux([RTX_4090]))).toEqual({ variant: 'cuda', backend: 'cuda', reason: null })
  })

  it('names the missing CUDA runtime, and uses Vulkan or else the CPU', () => {
    expect(choose(linux([RTX_4090], ['libcudart.so.12']))).toEqual({
      variant: 'vulkan',
      backend: 'vulkan',
      reason: 'Using Vulkan: CUDA 12 runtime not found (libcudart.so.12).',
    })
    expect(choose(linux([RTX_4090], ['libcudart.so.12', 'libvulkan.so.1']))).toEqual({
      variant: 'default',
      backend: 'cpu',
      reason: 'Running on CPU: CUDA 12 runtime not found (libcudart.so.12); Vulkan loader not found (libvulkan.so.1).',
    })
  })

  it('names missing cuBLAS and NCCL libraries together', () => {
    expect(choose(linux([RTX_4090], ['libcublas.so.12', 'libcublasLt.so.12', 'libnccl.so.2'])).reason).toBe(
      'Using Vulkan: cuBLAS 12 not found (libcublas.so.12, libcublasLt.so.12), NCCL 2 not found (libnccl.so.2).',
    )
    expect(choose(linux([RTX_4090], ['libcublasLt.so.12'])).reason).toBe('Using Vulkan: cuBLAS 12 not found (libcublasLt.so.12).')
  })

  it('passes over CUDA on a GPU generation the build has no kernels for (sm_86)', () => {
    expect(choose(linux([RTX_3080]))).toEqual({
      variant: 'vulkan',
      backend: 'vulkan',
      reason: 'Using Vulkan: the CUDA build has kernels for sm_89 only; this GPU (NVIDIA GeForce RTX 3080) is sm_86.',
    })
    expect(choose(linux([RTX_3080], ['libvulkan.so.1']))).toEqual({
      variant: 'default',
      backend: 'cpu',
      reason:
        'Running on CPU: the CUDA build has kernels for sm_89 only; this GPU (NVIDIA GeForce RTX 3080) is sm_86; Vulkan loader not found (libvulkan.so.1).',
    })
  })

  it('prefers Vulkan to compiling PTX on a newer GPU (sm_90), and uses CUDA with a warning when Vulkan is missing', () => {
    expect(choose(linux([H100]))).toEqual({
      variant: 'vulkan',
      backend: 'vulkan',
      reason:
        'Using Vulkan: the CUDA build has kernels for sm_89 only; this GPU (NVIDIA H100 80GB HBM3) is sm_90; CUDA would compile its kernels from PTX on first start (minutes).',
    })
    expect(choose(linux([H100], ['libvulkan.so.1']))).toEqual({
      variant: 'cuda',
      backend: 'cuda',
      reason:
        'Using CUDA, slow on first start: the CUDA build has kernels for sm_89 only; this GPU (NVIDIA H100 80GB HBM3) is sm_90, so its kernels are compiled from PTX first (this can take minutes); Vulkan loader not found (libvulkan.so.1).',
    })
  })

  it('needs every GPU covered, since llama.cpp uses them all', () => {
    expect(choose(linux([RTX_4090, RTX_3080])).variant).toBe('vulkan')
  })

  it('does not risk CUDA when the compute capability is unknown (no nvidia-smi)', () => {
    expect(choose(linux({ unknown: 'nvidia-smi not found' }))).toEqual({
      variant: 'vulkan',
      backend: 'vulkan',
      reason:
        "Using Vulkan: the CUDA build has kernels for sm_89 only and this GPU's compute capability is unknown (nvidia-smi not found).",
    })
  })

  it('says nothing about CUDA on a machine with no NVIDIA GPU', () => {
    // Neither nvidia-smi nor the driver: an AMD or Intel GPU.
    expect(choose(linux({ unknown: 'nvidia-smi not found' }, LINUX_CUDA))).toEqual({ variant: 'vulkan', backend: 'vulkan', reason: null })
    // A CUDA toolkit installed, but nvidia-smi lists no GPU.
    expect(choose(linux([]))).toEqual({ variant: 'vulkan', backend: 'vulkan', reason: null })
    expect(choose(linux({ unknown: 'nvidia-smi not found' }, [...LINUX_CUDA, 'libvulkan.so.1']))).toEqual({
      variant: 'default',
      backend: 'cpu',
      reason: 'Running on CPU: no NVIDIA GPU found; Vulkan loader not found (libvulkan.so.1).',
    })
  })

  it('runs on the CPU when CPU only is set, whatever the GPU', () => {
    expect(choose(linux([RTX_4090]), 'linux', 'x64', true)).toEqual({
      variant: 'default',
      backend: 'cpu',
      reason: 'Running on CPU: CPU only is on in Settings.',
    })
    expect(choose({ libraries: {}, nvidia: { gpus: [] } }, 'darwin', 'arm64', true).backend).toBe('cpu')
  })

  it('uses the default build on macOS: Metal on Apple silicon, the CPU on Intel Macs', () => {
    const none: GpuProbeResults = { libraries: {}, nvidia: { gpus: [] } }
    expect(choose(none, 'darwin', 'arm64')).toEqual({ variant: 'default', backend: 'metal', reason: null })
    expect(choose(none, 'darwin', 'x64')).toEqual({
      variant: 'default',
      backend: 'cpu',
      reason: 'Running on CPU: llama.cpp does not support Metal on Intel Macs.',
    })
  })

  it('on arm64 Linux uses the Jetson Orin (sm_87) CUDA build, and Vulkan for older GPUs', () => {
    const orin: NvidiaGpu = { name: 'Orin', computeCapability: '8.7' }
    expect(choose(linux([orin]), 'linux', 'arm64')).toEqual({ variant: 'cuda', backend: 'cuda', reason: null })
    expect(choose(linux([RTX_3080]), 'linux', 'arm64').reason).toBe(
      'Using Vulkan: the CUDA build has kernels for sm_87 only; this GPU (NVIDIA GeForce RTX 3080) is sm_86.',
    )
  })

  it('on Windows uses the CUDA build with sm_86, sm_89 and sm_120 kernels, and Vulkan on arm64', () => {
    const windows = (gpu: NvidiaGpu, without: string[] = []): GpuProbeResults => ({
      libraries: Object.fromEntries(
        ['nvcuda.dll', 'cudart64_12.dll', 'cublas64_12.dll', 'cublasLt64_12.dll', 'vulkan-1.dll'].map((f) => [f, !without.includes(f)]),
      ),
      nvidia: { gpus: [gpu] },
    })
    expect(choose(windows(RTX_3080), 'win32').variant).toBe('cuda')
    expect(choose(windows({ name: 'NVIDIA GeForce RTX 5090', computeCapability: '12.0' }), 'win32').variant).toBe('cuda')
    expect(choose(windows(RTX_4090, ['cudart64_12.dll']), 'win32').reason).toBe(
      'Using Vulkan: CUDA 12 runtime not found (cudart64_12.dll).',
    )
    expect(choose(windows({ name: 'NVIDIA GeForce RTX 2080', computeCapability: '7.5' }), 'win32').reason).toBe(
      'Using Vulkan: the CUDA build has kernels for sm_86, sm_89, sm_120 only; this GPU (NVIDIA GeForce RTX 2080) is sm_75.',
    )
    expect(choose({ libraries: { 'vulkan-1.dll': true }, nvidia: { gpus: [] } }, 'win32', 'arm64')).toEqual({
      variant: 'vulkan',
      backend: 'vulkan',
      reason: null,
    })
  })
})

describe('CUDA kernel coverage', () => {
  it('follows CUDA’s rules: SASS for the same major and a lower or equal minor, PTX for any later GPU', () => {
    const sm89 = { sass: ['8.9' as const], ptx: ['8.9' as const] }
    expect(['7.5', '8.0', '8.6', '8.7', '8.9', '9.0', '10.0', '12.0'].map((cc) => cudaCoverage(sm89, cc as `${number}.${number}`))).toEqual(
      ['none', 'none', 'none', 'none', 'native', 'ptx', 'ptx', 'ptx'],
    )
    expect(cudaCoverage({ sass: ['8.6'], ptx: [] }, '8.9')).toBe('native')
    expect(cudaCoverage({ sass: ['8.6'], ptx: [] }, '9.0')).toBe('none')
  })
})

/** A fake machine: files that exist, and what each command prints (or the error it fails with). */
function fakeSystem(
  env: Record<string, string>,
  files: string[],
  commands: Record<string, string | NodeJS.ErrnoException>,
): ProbeSystem & { ran: string[] } {
  const ran: string[] = []
  return {
    env,
    ran,
    isFile: async (path) => files.includes(path),
    run: async (command, args) => {
      const line = [command, ...args].join(' ')
      ran.push(line)
      const answer = commands[line] ?? Object.assign(new Error(`spawn ${command} ENOENT`), { code: 'ENOENT' })
      if (typeof answer === 'string') return answer
      throw answer
    },
  }
}
const SMI = 'nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader'
const failure = (message: string, code?: string): NodeJS.ErrnoException => Object.assign(new Error(message), code ? { code } : {})

describe('probing the GPU and its libraries', () => {
  it('finds Linux libraries where the loader does: LD_LIBRARY_PATH, the build’s RUNPATH, the ldconfig cache for this architecture, default folders', async () => {
    const system = fakeSystem(
      { LD_LIBRARY_PATH: '/opt/cuda-12/lib64:' },
      [
        '/opt/cuda-12/lib64/libcudart.so.12',
        '/usr/local/cuda/lib64/libcublasLt.so.12',
        '/usr/lib/x86_64-linux-gnu/libcuda.so.1',
        '/usr/local/cuda-12.6/lib64/libvulkan.so.1',
      ],
      {
        '/sbin/ldconfig -p': [
          "1234 libs found in cache `/etc/ld.so.cache'",
          '\tlibcublas.so.12 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcublas.so.12',
          '\tlibnccl.so.2 (libc6) => /usr/lib/i386-linux-gnu/libnccl.so.2',
        ].join('\n'),
        [SMI]: 'NVIDIA GeForce RTX 4090, 8.9\nNVIDIA GeForce RTX 3080, 8.6\n',
      },
    )
    expect(await probeGpu('linux', 'x64', system)).toEqual({
      libraries: {
        'libcuda.so.1': true,
        'libcudart.so.12': true,
        'libcublas.so.12': true,
        'libcublasLt.so.12': true,
        // Only a 32-bit copy is cached; a versioned toolkit folder is not on the loader's path.
        'libnccl.so.2': false,
        'libvulkan.so.1': false,
      },
      nvidia: { gpus: [RTX_4090, RTX_3080] },
    })
  })

  it('says why the compute capability is unknown', async () => {
    const smi = async (answer: string | NodeJS.ErrnoException) =>
      (await probeGpu('linux', 'x64', fakeSystem({}, [], { [SMI]: answer }))).nvidia
    expect(await smi(failure('spawn nvidia-smi ENOENT', 'ENOENT'))).toEqual({ unknown: 'nvidia-smi not found' })
    expect(await smi(failure('nvidia-smi timed out', 'ETIMEDOUT'))).toEqual({ unknown: 'nvidia-smi did not answer within 5 s' })
    expect(await smi(failure('Field "compute_cap" is not a valid field to query.\n'))).toEqual({
      unknown: 'nvidia-smi failed: Field "compute_cap" is not a valid field to query.',
    })
    expect(await smi('NVIDIA GeForce GTX 1080, [N/A]\n')).toEqual({
      unknown: 'nvidia-smi gave no compute capability ("NVIDIA GeForce GTX 1080, [N/A]")',
    })
    expect(await smi(failure('No devices were found'))).toEqual({ gpus: [] })
  })

  it('finds Windows DLLs in System32, CUDA_PATH and PATH', async () => {
    const system = fakeSystem(
      {
        SystemRoot: 'C:\\Windows',
        CUDA_PATH: 'C:\\Program Files\\NVIDIA GPU Computing Toolkit\\CUDA\\v12.9',
        PATH: 'C:\\Tools;D:\\cublas',
      },
      [
        'C:\\Windows\\System32\\nvcuda.dll',
        'C:\\Windows\\System32\\vulkan-1.dll',
        'C:\\Program Files\\NVIDIA GPU Computing Toolkit\\CUDA\\v12.9\\bin\\cudart64_12.dll',
        'D:\\cublas\\cublas64_12.dll',
      ],
      { [SMI]: 'NVIDIA GeForce RTX 3080, 8.6\r\n' },
    )
    const probes = await probeGpu('win32', 'x64', system)
    expect(probes).toEqual({
      libraries: { 'nvcuda.dll': true, 'cudart64_12.dll': true, 'cublas64_12.dll': true, 'cublasLt64_12.dll': false, 'vulkan-1.dll': true },
      nvidia: { gpus: [RTX_3080] },
    })
    expect(system.ran).toEqual([SMI])
    expect(choose(probes, 'win32').reason).toBe('Using Vulkan: cuBLAS 12 not found (cublasLt64_12.dll).')
  })

  it('runs nothing on macOS, where the default build is the only one', async () => {
    const system = fakeSystem({}, [], {})
    expect(await probeGpu('darwin', 'arm64', system)).toEqual({ libraries: {}, nvidia: { gpus: [] } })
    expect(system.ran).toEqual([])
  })

  it.skipIf(process.platform === 'win32')('runs commands with a timeout and keeps the tool’s own words on failure', async () => {
    const system = realProbeSystem()
    await expect(system.run('sleep', ['5'], 100)).rejects.toMatchObject({ code: 'ETIMEDOUT' })
    await expect(system.run('sh', ['-c', 'echo No devices were found; exit 6'], 2000)).rejects.toThrow(/^No devices were found$/)
    await expect(system.run('no-such-tool-here', [], 2000)).rejects.toMatchObject({ code: 'ENOENT' })
    expect(await system.run('echo', ['8.9'], 2000)).toBe('8.9\n')
  })

  it('probes this machine for real, within the nvidia-smi timeout', async () => {
    const started = performance.now()
    const probes = await probeGpu(process.platform, process.arch)
    expect(performance.now() - started).toBeLessThan(6000)
    expect(['cuda', 'vulkan', 'default']).toContain(chooseVisionVariant(probes, process.platform, process.arch, { cpuOnly: false }).variant)
  })
})

// The build table in gpu-probe.ts must describe the binary that is installed: read its
// needed libraries (ELF dynamic section) and its kernels (the fat binaries in .nv_fatbin).
const CUDA_BINARY = fileURLToPath(new URL('../../node_modules/@fugood/node-llama-linux-x64-cuda/index.node', import.meta.url))

describe.skipIf(!existsSync(CUDA_BINARY))('the installed linux-x64 CUDA build of llama.node', () => {
  it('needs exactly the libraries the probe looks for, besides the C and C++ runtimes', async () => {
    const needed = (await readElf(CUDA_BINARY)).needed.filter(
      (l) => !/^(libc|libm|libgcc_s|libstdc\+\+|libgomp|ld-linux-x86-64)\.so/.test(l),
    )
    const probes = await probeGpu('linux', 'x64', fakeSystem({}, [], {}))
    expect(new Set(needed)).toEqual(
      new Set(Object.keys(probes.libraries).filter((l) => l !== 'libvulkan.so.1' && l !== 'libcublasLt.so.12')),
    )
  })

  it('carries sm_89 SASS and compute_89 PTX only', async () => {
    const { kernels } = await readElf(CUDA_BINARY)
    expect([...kernels].sort()).toEqual(['ptx 8.9', 'sass 8.9'])
    const probes = linux([RTX_4090])
    expect(choose(probes).variant).toBe('cuda')
  })
})

/** DT_NEEDED entries and the kinds of CUDA code in .nv_fatbin, from a little-endian ELF64 file. */
async function readElf(path: string): Promise<{ needed: string[]; kernels: Set<string> }> {
  const file = await open(path, 'r')
  try {
    const read = async (offset: number | bigint, length: number): Promise<Buffer> => {
      const buffer = Buffer.alloc(length)
      await file.read(buffer, 0, length, Number(offset))
      return buffer
    }
    const header = await read(0, 64)
    const sectionsAt = Number(header.readBigUInt64LE(0x28))
    const count = header.readUInt16LE(0x3c)
    const sections = await read(sectionsAt, count * 64)
    const section = (i: number) => ({
      name: sections.readUInt32LE(i * 64),
      type: sections.readUInt32LE(i * 64 + 4),
      offset: sections.readBigUInt64LE(i * 64 + 0x18),
      size: Number(sections.readBigUInt64LE(i * 64 + 0x20)),
      link: sections.readUInt32LE(i * 64 + 0x28),
    })
    const names = section(header.readUInt16LE(0x3e))
    const nameTable = await read(names.offset, names.size)
    const all = Array.from({ length: count }, (_, i) => section(i)).map((s) => ({
      ...s,
      label: nameTable.toString('latin1', s.name, nameTable.indexOf(0, s.name)),
    }))

    const dynamic = all.find((s) => s.type === 6)!
    const strings = await read(all[dynamic.link]!.offset, all[dynamic.link]!.size)
    const entries = await read(dynamic.offset, dynamic.size)
    const needed: string[] = []
    for (let at = 0; at < entries.length; at += 16) {
      if (entries.readBigInt64LE(at) === 1n) {
        const start = Number(entries.readBigUInt64LE(at + 8))
        needed.push(strings.toString('latin1', start, strings.indexOf(0, start)))
      }
    }

    // Fat binary: 16-byte header (magic 0xBA55ED50), then entries: kind (1 PTX, 2 SASS), header size, payload size, ..., arch at +28.
    const fatbin = all.find((s) => s.label === '.nv_fatbin')!
    const data = await read(fatbin.offset, fatbin.size)
    const kernels = new Set<string>()
    for (
      let at = data.indexOf(Buffer.from([0x50, 0xed, 0x55, 0xba]));
      at >= 0;
      at = data.indexOf(Buffer.from([0x50, 0xed, 0x55, 0xba]), at + 4)
    ) {
      if (data.readUInt16LE(at + 6) !== 16) continue
      const end = at + 16 + Number(data.readBigUInt64LE(at + 8))
      for (let entry = at + 16; entry < end;) {
        const kind = data.readUInt16LE(entry)
        const arch = data.readUInt32LE(entry + 28)
        kernels.add(`${kind === 1 ? 'ptx' : 'sass'} ${Math.floor(arch / 10)}.${arch % 10}`)
        entry += data.readUInt32LE(entry + 4) + Number(data.readBigUInt64LE(entry + 8))
      }
    }
    return { needed, kernels }
  } finally {
    await file.close()
  }
}
