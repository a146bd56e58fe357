import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectSmtp, dotStuff, formatXclient, parseReply, xtext } from './smtp-client.ts';

describe('smtp-client helpers', () => {
  it('parses single- and multi-line replies with and without an enhanced status code', () => {
    expect(parseReply(['451 4.7.1 <a@b.c>: Recipient address rejected: later'])).toEqual({
      code: 451,
      status: '4.7.1',
      text: '<a@b.c>: Recipient address rejected: later',
      lines: ['451 4.7.1 <a@b.c>: Recipient address rejected: later'],
    });
    expect(parseReply(['250-host', '250 CHUNKING'])).toMatchObject({
      code: 250,
      status: '',
      text: 'CHUNKING',
    });
    expect(parseReply(['354 End data with <CR><LF>.<CR><LF>'])).toMatchObject({ code: 354, status: '' });
    expect(() => parseReply(['hello'])).toThrow(/malformed/);
  });

  it('xtext-encodes XCLIENT values', () => {
    expect(xtext('alice@example.com')).toBe('alice@example.com');
    expect(xtext('a+b=c d')).toBe('a+2Bb+3Dc+20d');
    expect(xtext('é')).toBe('+C3+A9');
    expect(formatXclient({ addr: '192.0.2.1', login: 'u+x@example.com', port: 25 })).toBe(
      'ADDR=192.0.2.1 LOGIN=u+2Bx@example.com PORT=25',
    );
    expect(() => formatXclient({})).toThrow(/at least one/);
  });

  it('dot-stuffs message content with CRLF line ends', () => {
    expect(dotStuff('Subject: x\n\n.hidden\nlast\n')).toBe('Subject: x\r\n\r\n..hidden\r\nlast\r\n');
    expect(dotStuff('a\r\nb')).toBe('a\r\nb\r\n');
  });
});

describe('smtp-client session', () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.close();
    server = undefined;
  });

  // A scripted peer: greets, then answers each received line with the next reply, sent in the given chunks.
  async function fakeServer(greeting: string, replies: readonly (readonly string[])[]): Promise<number> {
    const s = createServer((socket) => {
      const queue = [...replies];
      socket.write(greeting);
      socket.on('data', () => {
        const next = queue.shift();
        if (next === undefined) socket.end();
        else void writeChunks(socket, next);
      });
    });
    server = s;
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const address = s.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return address.port;
  }

  it('reads multi-line replies split across packets and fails on close', async () => {
    const port = await fakeServer('220 ready\r\n', [['250-first\r\n250-sec', 'ond\r\n250 last\r\n']]);
    const client = await connectSmtp({ port, timeoutMs: 2_000 });
    expect(client.greeting.code).toBe(220);
    const ehlo = await client.ehlo('test');
    expect(ehlo.lines).toEqual(['250-first', '250-second', '250 last']);
    await expect(client.command('NOOP')).rejects.toThrow(/closed the connection/);
    client.close();
  });

  it('times out when no reply comes', async () => {
    const port = await fakeServer('', []);
    await expect(connectSmtp({ port, timeoutMs: 300 })).rejects.toThrow(
      /no SMTP reply to "greeting" within 300 ms/,
    );
  });

  it('refuses a command with a line break', async () => {
    const port = await fakeServer('220 ready\r\n', []);
    const client = await connectSmtp({ port, timeoutMs: 2_000 });
    await expect(client.command('NOOP\r\nRSET')).rejects.toThrow(/line break/);
    client.close();
  });
});

async function writeChunks(socket: Socket, chunks: readonly string[]): Promise<void> {
  for (const chunk of chunks) {
    socket.write(chunk);
    // Separate TCP segments, so the client sees a reply split across reads.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
