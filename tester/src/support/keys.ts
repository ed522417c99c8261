/**
 * The admin key every platform a test process starts is given (FAAS_ADMIN_KEY), and that the
 * shared HTTP client sends unless a test chooses another key or none.
 */
import { randomBytes } from 'node:crypto';

export const TEST_ADMIN_KEY = randomBytes(32).toString('hex');
