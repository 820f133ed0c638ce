#!/usr/bin/env node
// Removes the previous build, so files deleted or renamed in src/ never linger in dist/ (a stale
// compiled test would still run).
import { rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
