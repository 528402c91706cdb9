// The server's own API: /v1 (OpenAI-compatible chat, streamed as SSE) and /api/conversations (the stored chats).

const KEY_STORAGE = 'whale.apiKey';

export class ApiError extends Error {
  constructor(status, body) {
    const e = body?.error ?? {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code ?? null;
    this.param = e.param ?? null;
  }
}

export const apiKey = {
  get: () => localStorage.getItem(KEY_STORAGE) || '',
  set: (k) => (k ? localStorage.setItem(KEY_STORAGE, k) : localStorage.removeItem(KEY_STORAGE)),
};

function headers(json) {
  const h = {};
  if (json) h['Content-Type'] = 'application/json';
  const key = apiKey.get();
  if (key) h.Authorization = `Bearer ${key}`;
  return h;
}

async function errorOf(resp) {
  let body = null;
  try { body = await resp.json(); } catch { /* not JSON */ }
  return new ApiError(resp.status, body);
}

/** JSON request; throws ApiError on a non-2xx answer. */
export async function request(method, path, body) {
  const resp = await fetch(path, { method, headers: headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body) });
  if (!resp.ok) throw await errorOf(resp);
  if (resp.status === 204) return null;
  return resp.json();
}

/**
 * Streams a chat completion. Calls onDelta({reasoning, content}) per chunk and returns
 * {finishReason, usage} at the end; throws ApiError (HTTP or mid-stream error) or an AbortError when stopped.
 */
export async function streamChat(body, onDelta, signal) {
  const resp = await fetch('/v1/chat/completions', {
    method: 'POST',
    headers: headers(true),
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
    signal,
  });
  if (!resp.ok) throw await errorOf(resp);
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let finishReason = null;
  let usage = null;
  let done = false;
  while (!done) {
    const { value, done: end } = await reader.read();
    if (end) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data:')) continue; // ': keep-alive' comments
        const data = line.slice(5).trim();
        if (data === '[DONE]') { done = true; break; }
        const chunk = JSON.parse(data);
        if (chunk.error) throw new ApiError(500, chunk);
        if (chunk.usage) usage = chunk.usage;
        for (const choice of chunk.choices ?? []) {
          const d = choice.delta ?? {};
          if (d.reasoning_content || d.content) onDelta({ reasoning: d.reasoning_content || '', content: d.content || '' });
          if (choice.finish_reason) finishReason = choice.finish_reason;
        }
      }
    }
  }
  if (!done && !finishReason) throw new ApiError(500, { error: { message: 'the answer stream ended early' } });
  return { finishReason, usage };
}
