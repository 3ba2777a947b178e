import { describe, expect, it } from 'vitest';
import { placeholder } from '../src/index.ts';
describe('x', () => { it('y', () => { expect(placeholder).toBe(1); }); });
