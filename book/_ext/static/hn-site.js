/* hessnotes site fixes (loaded with `defer` on every page; see book/_ext/hn_site.py).
 *
 * 1. Sidebar toggles. pydata-sphinx-theme 0.17 and sphinx-book-theme 1.3 bind their click handlers
 *    to document.querySelector(".primary-toggle") / (".secondary-toggle"): the first such button,
 *    which is a hidden copy in the page header (pydata-sphinx-theme #2451). The buttons a reader
 *    sees get no handler. Each other toggle forwards its click to the bound one, so both themes'
 *    logic runs unchanged: a collapse at desktop width, the sidebar dialog on a phone.
 * 2. Sliders (hessnotes.widgets). The SelectionSlider readout is contentEditable but has no input
 *    handler, so typing in it blanked the label while the figure stayed. It is made read-only.
 *    The slider handle gets an accessible name (the slider's description) and a value text that
 *    reads the label, not the index.
 * 3. Live code (Thebe). thebe 0.8's bundle is UMD: where require.js is on the page (every page with
 *    sliders), it registers itself as an AMD module instead of the global `thebelab` that
 *    sphinx-thebe calls. While thebe loads, `define.amd` is hidden, and restored after.
 * 4. Print. A display equation wider than the printed column is zoomed to fit while printing.
 * 5. Search snippets. Sphinx builds each result's summary from the page's HTML, where math is
 *    still TeX source ("\(\tr(A^\top B)\)") and the page's own table of contents comes first.
 *    The summary is made from the article text alone, with math turned into plain text
 *    ("tr(Aᵀ B)").
 */
(function () {
  "use strict";

  function forwardToggles(selector) {
    var bound = document.querySelector(selector);
    if (!bound) return;
    document.querySelectorAll(selector).forEach(function (button) {
      if (button === bound || button.dataset.hnForward) return;
      button.dataset.hnForward = "1";
      button.addEventListener("click", function (event) {
        event.preventDefault();
        event.stopPropagation();
        bound.click();
      });
    });
  }

  function fixSlider(box) {
    var slider = box.querySelector(".slider");
    var handle = box.querySelector(".noUi-handle");
    var readout = box.querySelector(".widget-readout");
    var label = box.querySelector(".widget-label");
    if (!slider || !handle || !readout || !slider.noUiSlider) return false;
    var name = label ? label.textContent.trim() : "";
    if (name) handle.setAttribute("aria-label", name);
    function sync() {
      if (readout.getAttribute("contenteditable") !== "false") {
        readout.setAttribute("contenteditable", "false");
      }
      handle.setAttribute("aria-valuetext", readout.textContent.trim());
    }
    slider.noUiSlider.on("update.hn", sync);
    new MutationObserver(sync).observe(readout, {
      attributes: true,
      attributeFilter: ["contenteditable"],
      characterData: true,
      childList: true,
      subtree: true,
    });
    sync();
    return true;
  }

  function fixSliders() {
    document.querySelectorAll(".hn-slider:not([data-hn-fixed])").forEach(function (box) {
      if (fixSlider(box)) box.setAttribute("data-hn-fixed", "1");
    });
  }

  function hideAmdWhileThebeLoads() {
    document.addEventListener(
      "click",
      function (event) {
        var target = event.target.closest && event.target.closest(".thebe-launch-button, [onclick*='initThebe']");
        if (!target || typeof window.thebelab !== "undefined") return;
        if (!window.define || !window.define.amd || window.define.hnAmd) return;
        window.define.hnAmd = window.define.amd;
        window.define.amd = undefined;
      },
      true
    );
    document.addEventListener(
      "load",
      function (event) {
        var el = event.target;
        if (!el || el.tagName !== "SCRIPT" || !/thebe/.test(el.src || "")) return;
        if (window.define && window.define.hnAmd) {
          window.define.amd = window.define.hnAmd;
          delete window.define.hnAmd;
        }
      },
      true
    );
  }

  function fitMathForPrint() {
    document.querySelectorAll('mjx-container[display="true"]').forEach(function (c) {
      c.style.zoom = "";
      var need = c.scrollWidth, have = c.clientWidth;
      if (have > 0 && need > have + 1) c.style.zoom = String(Math.max(0.5, have / need));
    });
  }

  var TEX_WORDS = {
    top: "ᵀ", kron: "⊗", ksum: "⊕", otimes: "⊗", oplus: "⊕", odot: "⊙", circ: "∘",
    R: "ℝ", Sym: "𝕊", nabla: "∇", partial: "∂", sum: "Σ", prod: "Π", infty: "∞",
    le: "≤", leq: "≤", ge: "≥", geq: "≥", ne: "≠", neq: "≠", approx: "≈", in: "∈", to: "→",
    mapsto: "↦", times: "×", cdot: "·", perp: "⊥", star: "⋆", ast: "∗", dots: "…",
    ldots: "…", cdots: "⋯", alpha: "α", beta: "β", gamma: "γ", delta: "δ", Delta: "Δ",
    varepsilon: "ε", epsilon: "ε", eta: "η", theta: "θ", kappa: "κ", lambda: "λ",
    Lambda: "Λ", mu: "μ", nu: "ν", pi: "π", rho: "ρ", sigma: "σ", Sigma: "Σ", tau: "τ",
    phi: "φ", Phi: "Φ", psi: "ψ", omega: "ω", Omega: "Ω", ell: "ℓ", lVert: "‖", rVert: "‖",
    Vert: "‖", langle: "⟨", rangle: "⟩", d: "d", tr: "tr", vec: "vec", diag: "diag",
    sym: "sym", rank: "rank", det: "det", log: "log", exp: "exp", min: "min", max: "max",
  };

  var ARG = "\\{([^{}]*)\\}";
  var MACROS = [
    [new RegExp("\\\\fro" + ARG, "g"), "‖$1‖_F"],
    [new RegExp("\\\\norm" + ARG, "g"), "‖$1‖"],
    [new RegExp("\\\\inner" + ARG + ARG, "g"), "⟨$1, $2⟩"],
    [new RegExp("\\\\frac" + ARG + ARG, "g"), "($1)/($2)"],
    [new RegExp("\\\\tfrac" + ARG + ARG, "g"), "($1)/($2)"],
    [new RegExp("\\\\sqrt" + ARG, "g"), "√($1)"],
    [new RegExp("\\\\pinv" + ARG, "g"), "$1⁺"],
    [new RegExp("\\\\(?:hat|tilde|bar)" + ARG, "g"), "$1"],
  ];

  function plainMath(tex) {
    for (var pass = 0; pass < 3; pass++) {
      MACROS.forEach(function (m) { tex = tex.replace(m[0], m[1]); });
    }
    return tex
      .replace(/^\\[\(\[]|\\[\)\]]$/g, "")
      .replace(/\\ /g, " ")
      .replace(/\\(?:left|right|big|Big|bigg|Bigg|quad|qquad|,|;|!|:)(?![a-zA-Z])/g, " ")
      .replace(/\\(?:mathrm|mathbf|mathcal|mathbb|operatorname|text|textstyle|displaystyle)/g, "")
      .replace(/\\([a-zA-Z]+)/g, function (m, w) { return w in TEX_WORDS ? TEX_WORDS[w] : w; })
      .replace(/\\begin\{[a-z*]+\}|\\end\{[a-z*]+\}|&|\\\\/g, " ")
      .replace(/[{}]/g, "")
      .replace(/\s+/g, " ")
      .trim();
  }

  function plainSearchSummaries() {
    if (typeof Search === "undefined" || !Search.htmlToText || Search.hnPlain) return;
    var original = Search.htmlToText;
    Search.hnPlain = true;
    Search.htmlToText = function (htmlString, anchor) {
      var doc = new DOMParser().parseFromString(htmlString, "text/html");
      var drop = ".bd-sidebar-secondary, .bd-toc, nav, .bd-header-article, .prev-next-area, footer";
      doc.querySelectorAll(drop).forEach(function (el) { el.remove(); });
      doc.querySelectorAll(".math, span.math, div.math").forEach(function (el) {
        el.textContent = " " + plainMath(el.textContent) + " ";
      });
      var text = original(doc.documentElement.outerHTML, anchor);
      return text.replace(/\s+/g, " ");
    };
  }

  function start() {
    plainSearchSummaries();
    hideAmdWhileThebeLoads();
    window.addEventListener("beforeprint", fitMathForPrint);
    window.addEventListener("afterprint", function () {
      document.querySelectorAll('mjx-container[display="true"]').forEach(function (c) {
        c.style.zoom = "";
      });
    });
    forwardToggles(".primary-toggle");
    forwardToggles(".secondary-toggle");
    fixSliders();
    // Widgets render after the widget manager has loaded; catch them as they appear.
    var pending = false;
    new MutationObserver(function () {
      if (pending) return;
      pending = true;
      window.requestAnimationFrame(function () {
        pending = false;
        fixSliders();
      });
    }).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
