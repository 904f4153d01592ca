// Raw HTTP a fetch cannot send: a chunked body with no Content-Length, written piece by piece.
import http from 'node:http';

export /** A chunked POST (no Content-Length), written piece by piece. */
function chunkedPost(url: string, headers: Record<string, string>, body: Buffer, piece = 4096): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode as number, body: text }));
      },
    );
    // The server may answer 413 and close before the whole body is written.
    req.on('error', (err) => (req.writableEnded ? undefined : reject(err)));
    (async () => {
      for (let i = 0; i < body.length && !req.destroyed; i += piece) {
        if (!req.write(body.subarray(i, i + piece))) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    })().catch(reject);
  });
}
