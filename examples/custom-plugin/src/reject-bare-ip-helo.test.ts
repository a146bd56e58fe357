import { createPolicy } from '@policyd/core';
import { evaluateRequest } from '@policyd/core/testing';
import { describe, expect, it } from 'vitest';
import { rejectBareIpHelo } from './reject-bare-ip-helo.ts';

describe('reject_bare_ip_helo', async () => {
  const policy = await createPolicy({ plugins: [rejectBareIpHelo()] });

  it.each(['192.0.2.1', '2001:db8::1'])('rejects the bare address %s', async (helo) => {
    const { decision } = await evaluateRequest(policy, { helo_name: helo });
    expect(decision).toMatchObject({ action: 'REPLY', code: 550, status: '5.7.1' });
  });

  it.each(['[192.0.2.1]', 'mail.example.net'])('lets %s pass', async (helo) => {
    const { decision } = await evaluateRequest(policy, { helo_name: helo });
    expect(decision.action).toBe('DUNNO');
  });
});
