// The least a server can do for get_instance over HTTP (scripts/bench-http.mjs measures it beside the real one): take
// a JSON-RPC POST, send the cloud's GET over keep-alive connections, read its JSON and answer with it. No MCP, no
// sessions, no checks. What it reaches bounds what any Node server that makes one cloud request per call can.
// Usage: node scripts/bench-proxy.mjs <cloud URL of the GET> <Authorization header>; prints its URL.
import { createServer } from 'node:http';
import { Pool } from 'undici';

const [target, authorization] = process.argv.slice(2);
const url = new URL(target);
const cloud = new Pool(url.origin, { connections: 10 });
const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d) => (body += d));
  req.on('end', async () => {
    try {
      const { id } = JSON.parse(body);
      const r = await cloud.request({ method: 'GET', path: url.pathname, headers: { authorization } });
      const answer = JSON.stringify({ jsonrpc: '2.0', id, result: { structuredContent: await r.body.json() } });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
});
server.listen(0, '127.0.0.1', () => console.log(`http://127.0.0.1:${server.address().port}/mcp`));
process.on('SIGTERM', () => process.exit(0));
