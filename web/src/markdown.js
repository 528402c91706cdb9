// Model text -> safe HTML: marked (GFM) + KaTeX math + highlight.js, then DOMPurify. Nothing the model writes can
// run script: raw HTML in the text is sanitized away, and titles/user text never go through here (textContent).
import { Marked } from 'marked';
import DOMPurify from 'dompurify';
import hljs from 'highlight.js/lib/common';
import katex from 'katex';

const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function tex(text, displayMode) {
  try {
    return katex.renderToString(text, { displayMode, throwOnError: false, output: 'htmlAndMathml', strict: 'ignore', trust: false });
  } catch {
    return `<code>${escapeHtml(text)}</code>`;
  }
}

const mathBlock = {
  name: 'mathBlock',
  level: 'block',
  start: (src) => src.match(/\$\$|\\\[/)?.index,
  tokenizer(src) {
    const m = /^\$\$([\s\S]+?)\$\$[^\S\n]*(?:\n|$)/.exec(src) || /^\\\[([\s\S]+?)\\\][^\S\n]*(?:\n|$)/.exec(src);
    if (m) return { type: 'mathBlock', raw: m[0], text: m[1].trim() };
    return undefined;
  },
  renderer: (t) => `<div class="math-block">${tex(t.text, true)}</div>`,
};

const mathInline = {
  name: 'mathInline',
  level: 'inline',
  start: (src) => src.match(/\$|\\\(/)?.index,
  tokenizer(src) {
    const m = /^\$\$([^$]+?)\$\$/.exec(src) || /^\$(?!\s)([^$\n]+?)(?<!\s)\$(?![\d$])/.exec(src) || /^\\\(([\s\S]+?)\\\)/.exec(src);
    if (m) return { type: 'mathInline', raw: m[0], text: m[1] };
    return undefined;
  },
  renderer: (t) => tex(t.text, false),
};

const marked = new Marked({ gfm: true, breaks: false });
marked.use({
  extensions: [mathBlock, mathInline],
  renderer: {
    // Raw HTML in model text is shown as the text it is (as chat apps do), never interpreted.
    html({ text }) {
      return escapeHtml(text);
    },
    code({ text, lang }) {
      const language = (lang || '').trim().split(/\s+/)[0].toLowerCase();
      let body;
      if (language && hljs.getLanguage(language)) {
        try { body = hljs.highlight(text, { language, ignoreIllegals: true }).value; } catch { body = escapeHtml(text); }
      } else {
        body = escapeHtml(text);
      }
      const label = language ? escapeHtml(language) : 'text';
      return `<div class="code-block"><div class="code-head"><span class="code-lang">${label}</span></div><pre><code class="hljs language-${label}">${body}</code></pre></div>`;
    },
  },
});

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer nofollow');
  }
});

const purifyConfig = {
  FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'object', 'embed'],
  FORBID_ATTR: ['srcset', 'action', 'formaction'],
  ALLOW_DATA_ATTR: false,
};

/** Markdown (with math and code) to sanitized HTML. */
export function renderMarkdown(text) {
  let html;
  try {
    html = marked.parse(text ?? '', { async: false });
  } catch {
    html = `<p>${escapeHtml(text ?? '')}</p>`;
  }
  return DOMPurify.sanitize(html, purifyConfig);
}

/** Any HTML string through the same sanitizer (exported for tests). */
export const sanitize = (html) => DOMPurify.sanitize(html, purifyConfig);
