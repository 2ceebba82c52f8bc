/*
 * Bulk label QA: the self-hosted reviewer page (index.html), talking to the review API of the stack.
 *
 *   GET  api/config                       -> region, userPoolId, clientId, cognitoEndpoint
 *   Cognito's JSON API at cognitoEndpoint  InitiateAuth (USER_PASSWORD_AUTH), RespondToAuthChallenge
 *                                          (NEW_PASSWORD_REQUIRED, SOFTWARE_TOKEN_MFA), GlobalSignOut
 *   GET  api/jobs                         -> the open jobs
 *   POST api/jobs/<job>/next              -> 200 a screen (a lease) | 204 nothing left for this reviewer
 *   POST api/tasks/<task>/answer          {lease_id, answers: {"image-<id>": {"correct": bool}}}
 *   POST api/tasks/<task>/heartbeat       every third of the lease
 *   POST api/tasks/<task>/release         "Skip", and signing out with a screen open
 *
 * Security rules: labels, file names and everything else the API returns are written with textContent
 * or DOM properties only (never innerHTML and friends; the page's CSP has no 'unsafe-inline'). The access
 * token lives in memory and sessionStorage (this tab only), never in a cookie, and travels in the
 * Authorization header. The grid (tiles, counter, enlarged view, keys) is grid.js, shared with the
 * Ground Truth worker page.
 */
(function () {
  "use strict";

  var SESSION_KEY = "bulkqa.review.session";
  var COGNITO_TARGET = "AWSCognitoIdentityProviderService.";
  var MSG_TAKEN = "This screen was given to someone else; loading the next.";

  var state = {
    config: null,
    token: null, /* Cognito access token */
    expires: 0, /* ms since epoch */
    refreshToken: null, /* memory only */
    username: "",
    challenge: null, /* {name, username, session} while NEW_PASSWORD_REQUIRED or SOFTWARE_TOKEN_MFA is pending */
    job: null,
    task: null, /* the screen on show: the API's lease JSON */
    grid: null,
    heartbeat: 0,
    busy: false
  };

  function $(id) { return document.getElementById(id); }

  /* ---- building DOM: createElement and textContent only ---- */
  function h(tag, options, children) {
    var node = document.createElement(tag);
    var o = options || {};
    if (o.cls) node.className = o.cls;
    if (o.text !== undefined) node.textContent = String(o.text);
    if (o.attrs) {
      Object.keys(o.attrs).forEach(function (name) { node.setAttribute(name, o.attrs[name]); });
    }
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  /* ---- status line and views ---- */
  var VIEWS = ["view-loading", "view-signin", "view-newpw", "view-mfa", "view-jobs", "view-review"];

  function say(text, kind) {
    var status = $("status");
    status.textContent = text || "";
    status.className = "app-status" + (kind ? " is-" + kind : "");
    status.hidden = !text;
  }
  function showView(id, focusId) {
    VIEWS.forEach(function (v) { $(v).hidden = v !== id; });
    document.body.setAttribute("data-view", id.replace("view-", ""));
    var user = $("user");
    user.hidden = !state.token;
    $("user-name").textContent = state.username;
    if (focusId && $(focusId)) $(focusId).focus();
  }
  function formError(id, text) {
    var node = $(id);
    node.textContent = text || "";
    node.hidden = !text;
  }
  function setBusy(button, busy, label) {
    button.disabled = busy;
    button.setAttribute("aria-busy", busy ? "true" : "false");
    if (label) button.textContent = label;
  }

  /* ---- session (memory + this tab's sessionStorage) ---- */
  function saveSession(auth, username) {
    state.token = auth.AccessToken;
    state.expires = Date.now() + (Number(auth.ExpiresIn) || 3600) * 1000;
    if (auth.RefreshToken) state.refreshToken = auth.RefreshToken;
    state.username = username;
    try {
      window.sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token: state.token, expires: state.expires, username: username }));
    } catch (e) { /* storage unavailable: memory only */ }
  }
  function loadSession() {
    try {
      var saved = JSON.parse(window.sessionStorage.getItem(SESSION_KEY) || "null");
      if (saved && typeof saved.token === "string" && saved.expires > Date.now() + 60000) {
        state.token = saved.token;
        state.expires = saved.expires;
        state.username = String(saved.username || "");
        return true;
      }
    } catch (e) { /* ignore a damaged entry */ }
    return false;
  }
  function dropSession() {
    state.token = null;
    state.refreshToken = null;
    state.expires = 0;
    state.challenge = null;
    try { window.sessionStorage.removeItem(SESSION_KEY); } catch (e) { /* nothing stored */ }
  }

  /* ---- Cognito's JSON API ---- */
  function CognitoError(name, message) {
    this.name = name;
    this.message = message;
  }
  function cognito(action, payload) {
    return fetch(state.config.cognitoEndpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": COGNITO_TARGET + action
      },
      body: JSON.stringify(payload),
      credentials: "omit",
      cache: "no-store"
    }).then(function (response) {
      return response.text().then(function (text) {
        var data = {};
        try { data = text ? JSON.parse(text) : {}; } catch (e) { data = {}; }
        if (!response.ok) {
          var type = String(data.__type || data.code || "Error");
          throw new CognitoError(type.slice(type.lastIndexOf("#") + 1),
                                 String(data.message || data.Message || "Sign-in failed (HTTP " + response.status + ")."));
        }
        return data;
      });
    });
  }
  function signInMessage(error) {
    if (error instanceof CognitoError) {
      if (error.name === "NotAuthorizedException" || error.name === "UserNotFoundException") {
        return "Incorrect user name or password. Check both and try again.";
      }
      if (error.name === "PasswordResetRequiredException") return "Your password must be reset: ask your administrator.";
      if (error.name === "TooManyRequestsException" || error.name === "LimitExceededException") {
        return "Too many attempts: wait a minute, then try again.";
      }
      return error.message;
    }
    return "Could not reach the sign-in service: check your connection and try again.";
  }
  function afterAuth(result, username) {
    if (result.AuthenticationResult && result.AuthenticationResult.AccessToken) {
      state.challenge = null;
      saveSession(result.AuthenticationResult, username);
      say("");
      return loadJobs(true);
    }
    if (result.ChallengeName === "NEW_PASSWORD_REQUIRED") {
      state.challenge = { name: result.ChallengeName, username: username, session: result.Session };
      formError("newpw-error", "");
      $("newpw-form").reset();
      showView("view-newpw", "newpw-password");
      return null;
    }
    if (result.ChallengeName === "SOFTWARE_TOKEN_MFA") {
      /* TOTP turned on for this user (the pool's MFA is optional): the code from the authenticator app */
      state.challenge = { name: result.ChallengeName, username: username, session: result.Session };
      showCodeForm("");
      return null;
    }
    throw new CognitoError("UnsupportedChallenge",
      "This account needs a sign-in step this page does not support (" + String(result.ChallengeName) +
      "): ask your administrator.");
  }

  function onSignIn(event) {
    event.preventDefault();
    var username = $("signin-username").value.trim();
    var password = $("signin-password").value;
    if (!username || !password) {
      formError("signin-error", "Enter your user name and your password.");
      $(username ? "signin-password" : "signin-username").focus();
      return;
    }
    var button = $("signin-submit");
    setBusy(button, true, "Signing in\u2026");
    formError("signin-error", "");
    cognito("InitiateAuth", {
      AuthFlow: "USER_PASSWORD_AUTH",
      ClientId: state.config.clientId,
      AuthParameters: { USERNAME: username, PASSWORD: password }
    }).then(function (result) {
      $("signin-password").value = "";
      return afterAuth(result, username);
    }).catch(function (error) {
      formError("signin-error", signInMessage(error));
      $("signin-password").focus();
    }).then(function () { setBusy(button, false, "Sign in"); });
  }

  function onNewPassword(event) {
    event.preventDefault();
    var password = $("newpw-password").value;
    var confirm = $("newpw-confirm").value;
    if (password.length < 8) {
      formError("newpw-error", "The new password needs at least 8 characters.");
      $("newpw-password").focus();
      return;
    }
    if (password !== confirm) {
      formError("newpw-error", "The two passwords differ: type the same new password twice.");
      $("newpw-confirm").focus();
      return;
    }
    if (!state.challenge || state.challenge.name !== "NEW_PASSWORD_REQUIRED") { showSignIn("Sign in again."); return; }
    var button = $("newpw-submit");
    setBusy(button, true, "Saving\u2026");
    formError("newpw-error", "");
    var challenge = state.challenge;
    cognito("RespondToAuthChallenge", {
      ChallengeName: "NEW_PASSWORD_REQUIRED",
      ClientId: state.config.clientId,
      Session: challenge.session,
      ChallengeResponses: { USERNAME: challenge.username, NEW_PASSWORD: password }
    }).then(function (result) {
      $("newpw-form").reset();
      return afterAuth(result, challenge.username);
    }).catch(function (error) {
      if (error instanceof CognitoError && error.name === "NotAuthorizedException") {
        showSignIn("The sign-in took too long: sign in again with your temporary password.");
        return;
      }
      formError("newpw-error", error instanceof CognitoError ? error.message
        : "Could not reach the sign-in service: check your connection and try again.");
      $("newpw-password").focus();
    }).then(function () { setBusy(button, false, "Set password and sign in"); });
  }

  /* ---- SOFTWARE_TOKEN_MFA: the 6-digit code of the reviewer's authenticator app ---- */
  function showCodeForm(message) {
    $("mfa-form").reset();
    $("mfa-user").textContent = state.challenge ? state.challenge.username : "";
    formError("mfa-error", message);
    showView("view-mfa", "mfa-code");
  }

  function codeMessage(error) {
    if (error instanceof CognitoError) {
      if (error.name === "CodeMismatchException") {
        return "That code is not right. Enter the code your authenticator app shows now.";
      }
      if (error.name === "ExpiredCodeException") {
        return "That code was already used or has expired: wait for the next code, then enter it.";
      }
      if (error.name === "TooManyRequestsException" || error.name === "LimitExceededException" ||
          error.name === "TooManyFailedAttemptsException") {
        return "Too many attempts: wait a minute, then try again.";
      }
      return error.message;
    }
    return "Could not reach the sign-in service: check your connection and try again.";
  }

  function onCode(event) {
    event.preventDefault();
    var input = $("mfa-code");
    var code = input.value.replace(/\s+/g, "");
    if (!/^[0-9]{6}$/.test(code)) {
      formError("mfa-error", "Enter the 6 digits your authenticator app shows, without spaces.");
      input.focus();
      return;
    }
    if (!state.challenge || state.challenge.name !== "SOFTWARE_TOKEN_MFA") { showSignIn("Sign in again."); return; }
    var button = $("mfa-submit");
    setBusy(button, true, "Verifying\u2026");
    $("mfa-cancel").disabled = true;
    formError("mfa-error", "");
    var challenge = state.challenge;
    cognito("RespondToAuthChallenge", {
      ChallengeName: "SOFTWARE_TOKEN_MFA",
      ClientId: state.config.clientId,
      Session: challenge.session,
      ChallengeResponses: { USERNAME: challenge.username, SOFTWARE_TOKEN_MFA_CODE: code }
    }).then(function (result) {
      $("mfa-form").reset();
      return afterAuth(result, challenge.username);
    }).catch(function (error) {
      if (error instanceof CognitoError && error.name === "NotAuthorizedException") {
        /* Cognito's session of this sign-in expired (3 minutes) or was used up: start again */
        showSignIn("Your sign-in expired before a code was accepted: sign in again with your password, then enter the code your app shows.");
        return;
      }
      if (state.challenge !== challenge) return;
      input.value = "";
      formError("mfa-error", codeMessage(error));
      input.focus();
    }).then(function () {
      setBusy(button, false, "Verify and sign in");
      $("mfa-cancel").disabled = false;
    });
  }

  function refreshToken() {
    if (!state.refreshToken) return Promise.resolve(false);
    return cognito("InitiateAuth", {
      AuthFlow: "REFRESH_TOKEN_AUTH",
      ClientId: state.config.clientId,
      AuthParameters: { REFRESH_TOKEN: state.refreshToken }
    }).then(function (result) {
      if (!result.AuthenticationResult || !result.AuthenticationResult.AccessToken) return false;
      saveSession(result.AuthenticationResult, state.username);
      return true;
    }).catch(function () { return false; });
  }

  function showSignIn(message) {
    stopHeartbeat();
    unmountGrid();
    dropSession();
    formError("signin-error", message || "");
    showView("view-signin", "signin-username");
  }

  function signOut() {
    var token = state.token;
    var task = state.task;
    var done = function () {
      showSignIn("");
      say("You are signed out.", "info");
    };
    var release = task ? api("POST", taskPath(task, "release"), { lease_id: task.lease_id }).catch(function () { return null; })
      : Promise.resolve(null);
    release.then(function () {
      return token ? cognito("GlobalSignOut", { AccessToken: token }).catch(function () { return null; }) : null;
    }).then(done, done);
  }

  /* ---- the review API ---- */
  function SessionEnded() { this.name = "SessionEnded"; }

  function api(method, path, body, retried) {
    var headers = { Authorization: "Bearer " + state.token };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store"
    }).then(function (response) {
      if (response.status === 401) {
        if (!retried) {
          return refreshToken().then(function (ok) {
            if (ok) return api(method, path, body, true);
            throw new SessionEnded();
          });
        }
        throw new SessionEnded();
      }
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return { status: response.status, data: data };
      });
    });
  }
  function jobPath(job, what) { return "api/jobs/" + encodeURIComponent(job) + "/" + what; }
  function taskPath(task, what) { return "api/tasks/" + encodeURIComponent(task.task_id) + "/" + what; }

  function apiFailed(error, retryHint) {
    if (error instanceof SessionEnded) {
      showSignIn("Your session has ended: sign in again.");
      return;
    }
    say("Could not reach the review service: check your connection, then " + retryHint + ".", "error");
  }
  function serverSaid(result, what) {
    var detail = result.data && typeof result.data.message === "string" ? " " + result.data.message : "";
    return what + " (HTTP " + result.status + ")." + detail;
  }

  /* ---- the job list ---- */
  function when(value) {
    var ms = typeof value === "number" ? (value < 1e12 ? value * 1000 : value) : Date.parse(String(value));
    if (!isFinite(ms)) return "";
    try {
      return new Date(ms).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
    } catch (e) {
      return new Date(ms).toString();
    }
  }
  function count(value) { var n = Number(value); return isFinite(n) && n > 0 ? Math.floor(n) : 0; }

  function jobItem(job) {
    var name = String(job.job);
    var screens = count(job.screens);
    var done = count(job.done);
    var open = count(job.open);
    var expired = count(job.expired);
    var total = done + open + expired;
    var fraction = total > 0 ? done / total : 0;

    var bar = h("span", { cls: "app-progress-fill" });
    bar.style.width = Math.round(fraction * 100) + "%";
    var progress = h("div", {
      cls: "app-progress",
      attrs: { role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100",
               "aria-valuenow": String(Math.round(fraction * 100)), "aria-label": "Reviews done in " + name }
    }, [bar]);

    var facts = h("dl", { cls: "app-facts" }, [
      h("div", {}, [h("dt", { text: "Screens" }), h("dd", { text: screens })]),
      h("div", {}, [h("dt", { text: "Reviews done" }), h("dd", { text: done })]),
      h("div", {}, [h("dt", { text: "Reviews left" }), h("dd", { text: open })])
    ]);
    var meta = [];
    if (job.run_id) meta.push("Run " + String(job.run_id));
    if (job.available_until) meta.push("open until " + when(job.available_until));

    var start = h("button", { cls: "btn btn-primary", text: "Start reviewing", attrs: { type: "button", "data-job": name } });
    start.setAttribute("aria-label", "Start reviewing " + name);
    start.addEventListener("click", function () { startJob(name); });

    return h("li", { cls: "app-job" }, [
      h("div", { cls: "app-job-main" }, [
        h("h2", { cls: "app-job-name", text: name }),
        h("p", { cls: "app-job-meta", text: meta.join(" \u00b7 ") }),
        progress,
        facts
      ]),
      start
    ]);
  }

  function loadJobs(focus) {
    stopHeartbeat();
    unmountGrid();
    state.task = null;
    var list = $("jobs-list");
    showView("view-jobs", focus ? "jobs-title" : null);
    $("jobs-list").setAttribute("aria-busy", "true");
    return api("GET", "api/jobs").then(function (result) {
      list.setAttribute("aria-busy", "false");
      if (result.status !== 200 || !Array.isArray(result.data)) {
        say(serverSaid(result, "The job list could not be loaded"), "error");
        return;
      }
      clear(list);
      result.data.forEach(function (job) {
        if (job && typeof job.job === "string") list.appendChild(jobItem(job));
      });
      $("jobs-empty").hidden = list.children.length > 0;
    }).catch(function (error) {
      list.setAttribute("aria-busy", "false");
      apiFailed(error, "choose Refresh");
    });
  }

  /* ---- one screen ---- */
  function startJob(job) {
    state.job = job;
    say("");
    nextScreen();
  }

  function nextScreen(message) {
    stopHeartbeat();
    var job = state.job;
    if (message) say(message, "info");
    return api("POST", jobPath(job, "next"), {}).then(function (result) {
      if (result.status === 200 && result.data && Array.isArray(result.data.images)) {
        showScreen(result.data);
        return;
      }
      if (result.status === 204) {
        loadJobs(true).then(function () { say("Nothing left for you in this job. Thank you!", "success"); });
        return;
      }
      if (result.status === 404) {
        loadJobs(true).then(function () { say("This job is no longer open.", "info"); });
        return;
      }
      say(serverSaid(result, "The next screen could not be loaded"), "error");
    }).catch(function (error) { apiFailed(error, "choose Start reviewing again"); });
  }

  function unmountGrid() {
    if (state.grid) state.grid.destroy();
    state.grid = null;
    clear($("view-review"));
  }

  function buildScreen(task) {
    var images = task.images;
    var total = images.length;
    var title = h("h1", { cls: "bq-title", attrs: { tabindex: "-1", id: "review-title" } }, [
      "Confirm that each image is correctly labelled as ",
      h("strong", { cls: "bq-label", text: String(task.label), attrs: { "data-qa-label": "" } })
    ]);
    var help = h("p", { cls: "bq-help" }, [
      "Every image starts as ", h("b", { text: "correct" }), ". ",
      h("b", { text: "Uncheck" }), " each image that does not match the label, then choose ",
      h("b", { text: "Submit" }), ". Click an image to enlarge it."
    ]);
    var keys = h("p", { cls: "bq-keys", attrs: { "aria-hidden": "true" } }, [
      h("kbd", { text: "Tab" }), " next image \u00b7 ", h("kbd", { text: "Space" }), " check/uncheck \u00b7 ",
      h("kbd", { text: "Z" }), " enlarge \u00b7 ", h("kbd", { text: "Esc" }), " close"
    ]);
    var context = h("p", { cls: "bq-context", text: "Job " + String(state.job) });

    var grid = h("div", { cls: "bq-grid", attrs: { role: "list", "aria-label": "Images to review" } });
    images.forEach(function (image, i) {
      var n = i + 1;
      var img = h("img", { attrs: { alt: "Image " + n + " of " + total, "data-zoom": "", decoding: "async", draggable: "false" } });
      var url = String(image.url || "");
      if (/^https?:\/\//i.test(url) || url.charAt(0) === "/") img.src = url;
      var box = h("input", { attrs: { type: "checkbox", "aria-label": "Image " + n + " is correct" } });
      box.name = "image-" + String(image.id);
      box.value = "correct";
      box.checked = true;
      box.defaultChecked = true;
      grid.appendChild(h("figure", { cls: "bq-tile tile", attrs: { role: "listitem", "data-tile": "", "data-index": String(n) } }, [
        h("div", { cls: "bq-media" }, [
          img,
          h("span", { cls: "bq-num", text: n, attrs: { "aria-hidden": "true" } }),
          h("span", { cls: "bq-badge", text: "\u2715 Wrong", attrs: { "aria-hidden": "true" } }),
          h("span", { cls: "bq-broken", text: "Image could not be loaded" })
        ]),
        h("div", { cls: "bq-foot" }, [h("label", { cls: "bq-check" }, [box, "Correct"])])
      ]));
    });

    var skip = h("button", { cls: "btn btn-quiet", text: "Skip", attrs: { type: "button", id: "review-skip" } });
    skip.title = "Give this screen back to the queue and return to the job list";
    var submit = h("button", { cls: "btn btn-primary btn-submit", text: "Submit", attrs: { type: "button", id: "review-submit" } });
    skip.addEventListener("click", onSkip);
    submit.addEventListener("click", onSubmit);
    var bar = h("div", { cls: "bq-bar" }, [
      h("p", { cls: "bq-bar-hint", text: "Checked images are submitted as correct, unchecked images as wrong." }),
      h("div", { cls: "bq-bar-end" }, [
        h("p", { cls: "bq-count", text: "0 of " + total + " marked wrong",
                 attrs: { id: "bq-count", role: "status", "aria-live": "polite", "data-qa-count": "" } }),
        skip,
        submit
      ])
    ]);
    return h("div", { cls: "bq", attrs: { id: "bq" } }, [
      h("header", { cls: "bq-head" }, [context, title, help, keys]),
      grid,
      bar
    ]);
  }

  function showScreen(task) {
    unmountGrid();
    state.task = task;
    state.busy = false;
    var root = buildScreen(task);
    $("view-review").appendChild(root);
    showView("view-review", "review-title");
    window.scrollTo(0, 0);
    state.grid = window.bqGrid.mount(root);
    scheduleHeartbeat(task);
  }

  function answersOf(root) {
    var answers = {};
    Array.prototype.forEach.call(root.querySelectorAll("input[type=checkbox][name^='image-']"), function (box) {
      answers[box.name] = { correct: box.checked };
    });
    return answers;
  }

  function lockScreen(locked) {
    state.busy = locked;
    ["review-submit", "review-skip"].forEach(function (id) { if ($(id)) $(id).disabled = locked; });
  }

  function onSubmit() {
    var task = state.task;
    var root = $("bq");
    if (!task || !root || state.busy) return;
    lockScreen(true);
    var answers = answersOf(root);
    var wrong = Object.keys(answers).filter(function (k) { return !answers[k].correct; }).length;
    say("Sending your answer\u2026", "info");
    api("POST", taskPath(task, "answer"), { lease_id: task.lease_id, answers: answers }).then(function (result) {
      if (result.status === 200) {
        nextScreen("Saved: " + wrong + " of " + Object.keys(answers).length + " marked wrong. Loading the next screen\u2026");
        return;
      }
      if (result.status === 409) { nextScreen(MSG_TAKEN); return; }
      lockScreen(false);
      say(serverSaid(result, "The answer was refused"), "error");
    }).catch(function (error) {
      lockScreen(false);
      apiFailed(error, "choose Submit again");
    });
  }

  function onSkip() {
    var task = state.task;
    if (!task || state.busy) return;
    lockScreen(true);
    stopHeartbeat();
    api("POST", taskPath(task, "release"), { lease_id: task.lease_id }).then(function () {
      return loadJobs(true);
    }).then(function () {
      say("Screen skipped: it goes back to the queue for another reviewer.", "info");
    }).catch(function (error) {
      lockScreen(false);
      apiFailed(error, "choose Skip again");
    });
  }

  /* ---- heartbeat: renew the lease every third of its length ---- */
  function stopHeartbeat() {
    if (state.heartbeat) window.clearTimeout(state.heartbeat);
    state.heartbeat = 0;
  }
  function scheduleHeartbeat(task) {
    stopHeartbeat();
    var left = Date.parse(String(task.lease_expires_at)) - Date.now();
    if (!isFinite(left)) left = 300000;
    var delay = Math.min(Math.max(left / 3, 5000), 300000);
    state.heartbeat = window.setTimeout(function () { beat(task); }, delay);
  }
  function beat(task) {
    state.heartbeat = 0;
    if (state.task !== task) return;
    api("POST", taskPath(task, "heartbeat"), { lease_id: task.lease_id }).then(function (result) {
      if (state.task !== task) return;
      if (result.status === 200 && result.data && result.data.lease_expires_at) {
        task.lease_expires_at = result.data.lease_expires_at;
        scheduleHeartbeat(task);
      } else if (result.status === 409) {
        if (!state.busy) nextScreen(MSG_TAKEN);
      } else {
        scheduleHeartbeat(task);
      }
    }).catch(function (error) {
      if (error instanceof SessionEnded) { apiFailed(error, ""); return; }
      if (state.task === task) state.heartbeat = window.setTimeout(function () { beat(task); }, 15000);
    });
  }

  /* ---- start ---- */
  function boot() {
    $("signin-form").addEventListener("submit", onSignIn);
    $("newpw-form").addEventListener("submit", onNewPassword);
    $("mfa-form").addEventListener("submit", onCode);
    $("mfa-cancel").addEventListener("click", function () { showSignIn(""); });
    $("sign-out").addEventListener("click", signOut);
    $("jobs-refresh").addEventListener("click", function () { say(""); loadJobs(false); });
    fetch("api/config", { credentials: "omit", cache: "no-store" }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (config) {
      if (!config || !config.clientId || !config.cognitoEndpoint) throw new Error("incomplete configuration");
      state.config = config;
      if (loadSession()) loadJobs(false);
      else showView("view-signin", "signin-username");
    }).catch(function (error) {
      showView("view-loading");
      say("The review service is not reachable (" + String(error && error.message) + "): reload the page in a minute.", "error");
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
