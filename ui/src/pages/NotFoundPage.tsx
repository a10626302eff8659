/** A path inside the UI that names no page. */
import { Link, useLocation } from 'react-router';

export function NotFoundPage() {
  const { pathname } = useLocation();
  return (
    <section aria-labelledby="nf-title">
      <h1 id="nf-title">Page not found</h1>
      <p>
        There is no page at <code>{pathname}</code>. <Link to="/">Go to the dashboard</Link>.
      </p>
    </section>
  );
}
