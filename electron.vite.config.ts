import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';

export default defineConfig({
  main: {
    build: {
      rollupOptions: {
        // Worker threads are entries of their own, emitted beside index.js (see workerUrl in worker-rpc.ts).
        input: {
          index: resolve(__dirname, 'src/main/electron/main.ts'),
          'inference-worker': resolve(__dirname, 'src/main/inference/inference-worker.ts'),
          'prep-worker': resolve(__dirname, 'src/main/inference/prep-worker.ts'),
          'suggest-worker': resolve(__dirname, 'src/main/labels/suggest-worker.ts'),
          'display-worker': resolve(__dirname, 'src/main/dicom/display-worker.ts'),
          'header-worker': resolve(__dirname, 'src/main/dicom/header-worker.ts'),
          'map-worker': resolve(__dirname, 'src/main/review/map-worker.ts'),
          'pg-worker': resolve(__dirname, 'src/main/project/pg-worker.ts'),
        },
        output: { entryFileNames: '[name].js' },
        // Native modules load their own prebuilds at run time (bundling breaks usearch's lookup: usearch#377).
        external: ['better-sqlite3', 'onnxruntime-node', 'usearch'],
      },
    },
  },
  preload: {
    build: {
      // A CommonJS preload keeps the renderer sandboxed (an ESM preload would need sandbox: false).
      rollupOptions: { input: { index: resolve(__dirname, 'src/preload/index.ts') }, output: { format: 'cjs', entryFileNames: '[name].cjs' } },
    },
  },
  renderer: {
    root: resolve(__dirname, 'src/renderer'),
    plugins: [react()],
    // vtk.js pulls in xmlbuilder2, which extends Node's EventEmitter; give the browser build the `events` package.
    resolve: { alias: { events: 'events' } },
    worker: { format: 'es' },
    optimizeDeps: {
      exclude: ['@cornerstonejs/dicom-image-loader'],
      include: ['dicom-parser', '@cornerstonejs/core', '@cornerstonejs/tools'],
    },
    build: {
      rollupOptions: { input: resolve(__dirname, 'src/renderer/index.html') },
      chunkSizeWarningLimit: 8000,
    },
  },
});
