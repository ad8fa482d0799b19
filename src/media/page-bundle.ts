/** Bundles a browser entry point (TypeScript + npm deps such as mediasoup-client) into one script. */
import { build } from 'esbuild';

export async function bundleForBrowser(entryPoint: string): Promise<string> {
  const result = await build({
    entryPoints: [entryPoint],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
    // mediasoup-client's debug logging reads process.env in some paths.
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const out = result.outputFiles[0];
  if (!out) throw new Error(`esbuild produced no output for ${entryPoint}`);
  return out.text;
}
