import { describe, expect, it } from 'vitest';
import { didYouMean, didYouMeanHint } from './did-you-mean.ts';

const NAMES = ['GREYLISTING_BLOCK_EXPIRE', 'MYNETWORKS', 'throttle', 'greylisting', 'amavisd_wblist'];

describe('didYouMean', () => {
  it.each([
    ['GREYLISTING_BLOK_EXPIRE', 'GREYLISTING_BLOCK_EXPIRE'],
    ['mynetworks', 'MYNETWORKS'],
    ['throtle', 'throttle'],
    ['greylsiting', 'greylisting'],
    ['amavis_wblist', 'amavisd_wblist'],
  ])('suggests %s → %s', (name, suggestion) => {
    expect(didYouMean(name, NAMES)).toBe(suggestion);
  });

  it.each(['sql_server', 'x', 'reject_sender_login_mismatch', 'a'.repeat(101)])(
    'suggests nothing for %s',
    (name) => {
      expect(didYouMean(name, NAMES)).toBeUndefined();
    },
  );

  it('formats a hint', () => {
    expect(didYouMeanHint('throtle', NAMES)).toBe(" (did you mean 'throttle'?)");
    expect(didYouMeanHint('zzz', NAMES)).toBe('');
  });
});
