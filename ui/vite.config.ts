/**
 * Vite build of the web UI into ui/dist, which the API server serves at `/` (src/api/ui). Hashed file names
 * under /assets/ let the server cache them forever; the dev server proxies the API to a running standalone
 * (`CAPSTAN_API_URL`, default http://127.0.0.1:8080).
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const api = process.env['CAPSTAN_API_URL'] ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // The server's CSP allows no inline script or data: script: keep every module a file.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 2000,
  },
  worker: { format: 'es' },
  server: {
    proxy: Object.fromEntries(['/api', '/auth', '/health'].map((p) => [p, { target: api, changeOrigin: false }])),
  },
});
