// The root layout: no fonts fetched at build time (next/font/google would need the network).
export const metadata = { title: 'ecom9-gate on Next.js' };

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
