/**
 * A minimal browser for driving IdP pages in tests: a cookie jar, redirects followed as a
 * browser does (303/302 → GET), and HTML forms submitted with the clicked button's name/value.
 * It runs no scripts, so it uses the pages' forms exactly as a person would.
 */
export interface Page {
  url: string;
  status: number;
  html: string;
}

interface Form {
  id: string | undefined;
  action: string;
  method: string;
  fields: Array<[string, string]>;
  buttons: Array<{ name: string | undefined; value: string | undefined; text: string }>;
}

export class TestBrowser {
  readonly #cookies = new Map<string, string>();
  /** Every URL visited, in order. */
  readonly history: string[] = [];

  async get(url: string): Promise<Page> {
    return this.#navigate(url, { method: 'GET' });
  }

  /**
   * Fills and submits a form of the page. `form` picks it by id or by the text of a button that
   * submits it; `button` is the text of the button to click (its name/value are sent).
   */
  async submit(
    page: Page,
    options: { form?: string; button?: string; fill?: Record<string, string> } = {},
  ): Promise<Page> {
    const forms = parseForms(page.html);
    const form = forms.find((f) =>
      options.form
        ? f.id === options.form || f.action.includes(options.form)
        : options.button
          ? f.buttons.some((b) => b.text.includes(options.button!))
          : true,
    );
    if (!form) throw new Error(`no matching form on ${page.url}:\n${page.html}`);
    const body = new URLSearchParams();
    for (const [k, v] of form.fields) body.append(k, options.fill?.[k] ?? v);
    for (const [k, v] of Object.entries(options.fill ?? {})) if (!body.has(k)) body.append(k, v);
    if (options.button) {
      const b = form.buttons.find((x) => x.text.includes(options.button!));
      if (!b) throw new Error(`no button "${options.button}" on ${page.url}`);
      if (b.name) body.append(b.name, b.value ?? '');
    }
    const action = new URL(form.action || page.url, page.url).toString();
    if (form.method === 'get') return this.#navigate(`${action.split('?')[0]}?${body}`, { method: 'GET' });
    return this.#navigate(action, {
      method: 'POST',
      body: body.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }

  async #navigate(url: string, init: { method: string; body?: string; headers?: Record<string, string> }): Promise<Page> {
    let current = url;
    let request = init;
    for (let hops = 0; hops < 20; hops++) {
      this.history.push(current);
      const res = await fetch(current, {
        method: request.method,
        redirect: 'manual',
        headers: { ...request.headers, cookie: this.#cookieHeader(), accept: 'text/html' },
        ...(request.body !== undefined ? { body: request.body } : {}),
      });
      this.#store(res.headers.getSetCookie());
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        current = new URL(location, current).toString();
        // 307/308 keep the method and body; 301/302/303 become GET, as browsers do.
        if (res.status !== 307 && res.status !== 308) request = { method: 'GET' };
        continue;
      }
      return { url: current, status: res.status, html: await res.text() };
    }
    throw new Error(`too many redirects from ${url}`);
  }

  #cookieHeader(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  #store(setCookies: string[]): void {
    for (const sc of setCookies) {
      const [pair, ...attrs] = sc.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      const expired = attrs.some((a) => {
        const [k, v] = a.split('=').map((s) => s.trim().toLowerCase());
        return (k === 'max-age' && Number(v) <= 0) || (k === 'expires' && Date.parse(v ?? '') < Date.now());
      });
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
}

function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  if (!m) return undefined;
  return decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
}

function decodeEntities(s: string): string {
  return s
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function text(html: string): string {
  return decodeEntities(html.replace(/<[^>]*>/g, '')).replace(/\s+/g, ' ').trim();
}

export function parseForms(html: string): Form[] {
  const forms: Form[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const tag = m[1]!;
    const inner = m[2]!;
    const id = attr(tag, 'id');
    const fields: Array<[string, string]> = [];
    for (const input of inner.matchAll(/<input\b([^>]*)>/gi)) {
      const name = attr(input[1]!, 'name');
      const type = (attr(input[1]!, 'type') ?? 'text').toLowerCase();
      if (!name || type === 'submit' || type === 'button') continue;
      fields.push([name, attr(input[1]!, 'value') ?? '']);
    }
    const buttons: Form['buttons'] = [];
    const buttonRe = /<button\b([^>]*)>([\s\S]*?)<\/button>/gi;
    for (const b of inner.matchAll(buttonRe))
      buttons.push({ name: attr(b[1]!, 'name'), value: attr(b[1]!, 'value'), text: text(b[2]!) });
    // Buttons outside the form that name it with form="…" submit it too (HTML 5).
    if (id)
      for (const b of html.matchAll(buttonRe))
        if (attr(b[1]!, 'form') === id)
          buttons.push({ name: attr(b[1]!, 'name'), value: attr(b[1]!, 'value'), text: text(b[2]!) });
    forms.push({ id, action: attr(tag, 'action') ?? '', method: (attr(tag, 'method') ?? 'get').toLowerCase(), fields, buttons });
  }
  return forms;
}
