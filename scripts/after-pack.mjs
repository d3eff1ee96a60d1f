// electron-builder afterPack hook: flips Electron's fuses in the packaged binary, after the
// files are in place and before signing (a flip changes the binary, so signing must come after).
// Fuses are bits in the Electron executable, set at package time, that no command-line flag or
// environment variable can turn back on. Tested by test/main/fuses.test.ts.
import { join } from 'node:path'
import { flipFuses, FuseV1Options, FuseVersion } from '@electron/fuses'
import { Arch } from 'electron-builder'

/**
 * The fuses we set, per platform; those not named keep Electron's default
 * (LoadBrowserProcessSpecificV8Snapshot off, WasmTrapHandlers on).
 * @param {string} platform electron-builder's electronPlatformName: darwin, mas, win32 or linux
 */
function fuseConfig(platform) {
  return {
    version: FuseVersion.V1,
    // ELECTRON_RUN_AS_NODE would turn the signed app into a plain Node interpreter.
    [FuseV1Options.RunAsNode]: false,
    // NODE_OPTIONS (--require, --import) and --inspect would let anyone who can start the
    // app run code inside it, or attach a debugger to the main process.
    [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
    [FuseV1Options.EnableNodeCliInspectArguments]: false,
    // The cookie store on disk encrypted with a key from the OS keychain, as Chrome does.
    [FuseV1Options.EnableCookieEncryption]: true,
    // Only resources/app.asar is loaded, never a resources/app folder someone drops beside it.
    [FuseV1Options.OnlyLoadAppFromAsar]: true,
    // The renderer is served from app://renderer; file:// pages get no extra privileges.
    [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
    // Electron checks app.asar against the hash electron-builder embeds (Info.plist on macOS,
    // an executable resource on Windows); Linux has no such check, so the fuse stays as it is.
    ...(platform === 'darwin' || platform === 'mas' || platform === 'win32'
      ? { [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true }
      : {}),
  }
}

/**
 * Where the fuse wire lives: the .app bundle (@electron/fuses finds the framework inside it),
 * the .exe, or the Linux executable, named the way electron-builder names them.
 * @param {import('electron-builder').AfterPackContext} context
 */
function packagedElectron(context) {
  const { appOutDir, electronPlatformName: platform, packager } = context
  if (platform === 'darwin' || platform === 'mas') return join(appOutDir, `${packager.appInfo.productFilename}.app`)
  if (platform === 'win32') return join(appOutDir, `${packager.appInfo.productFilename}.exe`)
  // LinuxPackager names the executable after the package (executableName), not the product.
  return join(appOutDir, packager.executableName)
}

/** @param {import('electron-builder').AfterPackContext} context */
export default async function afterPack(context) {
  const platform = context.electronPlatformName
  const appleSilicon = (platform === 'darwin' || platform === 'mas') && (context.arch === Arch.arm64 || context.arch === Arch.universal)
  await flipFuses(packagedElectron(context), {
    ...fuseConfig(platform),
    // Flipping a fuse breaks the ad-hoc signature Apple Silicon requires to launch; re-sign ad hoc
    // so an unsigned build still starts (a real signature, when configured, replaces it).
    resetAdHocDarwinSignature: appleSilicon,
  })
}
