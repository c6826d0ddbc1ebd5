/**
 * One URL rule for every runtime on a plaintext connection: `request.url` is
 * `http://<Host>/path`, also for an absolute-form target (`GET https://evil.example/x`), which
 * Deno and Node's `IncomingMessage.url` keep as sent while Bun already builds it from `Host`
 * (Bun's `request.url` keeps nothing else of the target, so only this rule can hold on all
 * three). The Node bridge builds its URLs this way itself (`node_request.ts`).
 *
 * @module
 */

/**
 * `request`, or a copy with the URL `http://<Host>/path` when its URL says otherwise.
 *
 * @param request A request received on a plaintext connection.
 * @returns The request to hand to the handler.
 */
export function plaintextRequest(request: Request): Request {
  const host = request.headers.get("host");
  if (host === null || host === "") return request;
  const url = request.url;
  const end = 7 + host.length;
  if (url.startsWith("http://") && url.startsWith(host, 7) && url.charCodeAt(end) === 47) {
    return request; // The usual case: origin-form, URL built from Host.
  }
  const slash = url.indexOf("/", url.indexOf("//") + 2);
  try {
    return new Request(`http://${host}${slash === -1 ? "/" : url.slice(slash)}`, request);
  } catch {
    return request; // A Host that forms no URL: the runtime's URL stands.
  }
}
