// A page only pro accounts reach: proxy.ts checks the tier before Next renders it.
export const dynamic = 'force-dynamic';

export default function Dashboard() {
  return <main>pro dashboard</main>;
}
