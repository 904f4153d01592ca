// The home page: what to try.
export default function Home() {
  return (
    <main>
      <h1>ecom9-gate on Next.js</h1>
      <p>GET /api/reports, GET /api/search?q=x, POST /api/images, POST /api/webhooks/ecom9, GET /dashboard (send x-account-id).</p>
    </main>
  );
}
