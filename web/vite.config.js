import { defineConfig } from 'vite';

// Builds the chat page into dist/ (index.html + hashed assets/), which `whale serve` serves at /.
// `npm run dev` proxies the API to a running `whale serve` on :8080.
export default defineConfig({
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, assetsInlineLimit: 0, chunkSizeWarningLimit: 2000 },
  server: {
    proxy: { '/v1': 'http://127.0.0.1:8080', '/api': 'http://127.0.0.1:8080' },
  },
});
