/**
 * For a TUI test that checks colours: an ava worker's stdout is no terminal,
 * so chalk (which Ink colours with, and which ava has loaded already) starts
 * at level 0. Raise it for this worker.
 */
import chalk from 'chalk';

chalk.level = 1;
