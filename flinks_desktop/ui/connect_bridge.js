/*
 * The host page's half of the Connect bridge; the other half, and why it is built this way, is
 * ConnectView in connect_view.py.
 *
 * ConnectView injects this file right after Qt's qwebchannel.js, into the host page only (never
 * into the Connect iframe) and in an isolated JavaScript world: Flinks' scripts, and any script of
 * the page's own world, cannot reach `qt.webChannelTransport` or the Python object.
 *
 * The Python object, `connectBridge`, answers four calls:
 *   ready() -> JSON {connectUrl, connectOrigin}   the handshake: the channel is up, what to embed?
 *   post(JSON {origin, data})                     a message from the Connect origin, data as sent
 *   loaded()                                      Connect has loaded
 *   unreachable()                                 Connect's host could not be reached
 */
(function () {
  "use strict";

  new QWebChannel(qt.webChannelTransport, function (channel) {
    var bridge = channel.objects.connectBridge;
    bridge.ready(function (configJson) {
      var config = JSON.parse(configJson);
      // Listen first, then embed: no message of Connect can come before the listener is there.
      forwardConnectMessages(bridge, config.connectOrigin);
      embedConnect(bridge, config.connectUrl);
    });
  });

  function forwardConnectMessages(bridge, connectOrigin) {
    window.addEventListener("message", function (event) {
      // Any frame can post to this window; only Connect's own may speak for it (a forged REDIRECT
      // would hand us someone else's loginId). Python checks the origin again.
      if (event.origin !== connectOrigin) {
        console.debug("Connect bridge: ignored a message from " + event.origin);
        return;
      }
      var message;
      try {
        message = JSON.stringify({ origin: event.origin, data: event.data });
      } catch (error) {
        console.debug("Connect bridge: ignored a message that cannot be written as JSON");
        return;
      }
      bridge.post(message);
    });
  }

  function embedConnect(bridge, connectUrl) {
    var frame = document.createElement("iframe");
    frame.title = "Flinks Connect";
    // Chromium fires the iframe's `load` even when the page could not be fetched (it loads its
    // error page instead), so `load` alone does not mean Connect is there. A no-cors request to
    // the same URL settles it: fetch() rejects on a network failure only (refused, unknown host,
    // TLS error) and resolves, opaquely, on any HTTP answer.
    var frameLoaded = new Promise(function (resolve) {
      frame.addEventListener("load", resolve, { once: true });
    });
    var hostAnswered = fetch(connectUrl, { method: "HEAD", mode: "no-cors", credentials: "omit", cache: "no-store" });
    Promise.all([frameLoaded, hostAnswered]).then(
      function () {
        document.body.dataset.state = "loaded";
        bridge.loaded();
      },
      function () {
        bridge.unreachable();
      }
    );
    frame.src = connectUrl;
    document.getElementById("stage").appendChild(frame);
  }
})();
