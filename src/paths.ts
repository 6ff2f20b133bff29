/** Where vigil's own build artifacts are, relative to the package root. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// This file runs as dist/src/paths.js, or inside the CLI bundle dist/cli/*.js
// (Makefile): either way the package root is two levels up.
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD_DIR = path.join(PACKAGE_ROOT, 'build');
export const HELPER_PATH = path.join(BUILD_DIR, 'vigil-helper');
export const INIT_PATH = path.join(BUILD_DIR, 'vigil-init');
export const BPF_OBJECT_PATH = path.join(BUILD_DIR, 'vigil.bpf.o');
export const TESTBIN_PATH = path.join(BUILD_DIR, 'testbin');
