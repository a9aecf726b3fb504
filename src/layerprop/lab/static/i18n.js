/* layerprop lab: the words of the page in English and Korean (the views and the notebook widgets
   read the same table). The layers' rules come from the server in both languages (each layer
   states them once, as class attributes). */
var LAB_WORDS = {
  en: {
    tab_graph: "Graph", tab_train: "Train", other_language: "한국어",
    preset: "Preset", preset_own: "(your expression)", preset_apple: "Apples (MulLayer)", preset_apple_orange: "Apples and oranges",
    preset_sigmoid: "Sigmoid: four nodes and the fused layer", preset_branch: "A value used three times",
    preset_two_layer: "Two-layer network with a loss", draw: "Draw",
    expression: "Expression (a name and = name the output)", zoom_in: "zoom in", zoom_out: "zoom out", fit: "fit width",
    fit_title: "fit the drawing to the box's width", share: "Share", share_title: "copy a link to this page as it is now (the state is in the link's # part; another lab opens it with “Open a shared link” or layerprop lab --open)",
    share_copied: "Link copied: it opens this page as it is now.", share_select: "Copy this link: it opens this page as it is now.",
    open_shared: "Open a shared link", open: "Open", open_placeholder: "Open a shared link: paste it here",
    open_title: "open the state of a link copied with any lab's Share button (its token, host and port are not used)",
    open_done: "Opened the shared link: this page now shows its state.",
    open_not_link: "That is not a lab's link: paste a link copied with a lab's Share button (http://…/?token=…#…) or its # part.",
    open_no_state: "This link holds no lab state: a lab's link has it after # (tab=…&expr=…). Copy the link with the lab's Share button.",
    open_too_long: "The link is {n} characters long; a lab opens links of at most {limit}.",
    check_summary_ok: "✓ all {n} gradients match the numerical ones (largest relative error {e})",
    check_summary_bad: "✗ {bad} of {n} gradients differ from the numerical ones",
    csv: "your CSV file", choose_file: "Choose a file…", draw_points: "points you draw", upload: "CSV file (x1, x2, label)", seed: "Seed",
    export: "Export:", export_model: "model file", export_python: "Python script", export_onnx: "ONNX",
    export_model_title: "the trained network as a layerprop model file (.npz): layerprop evaluate / predict / export read it",
    export_python_title: "a Python script that rebuilds the data, the network and the training with layerprop",
    export_onnx_title: "the trained network as ONNX (ONNX Runtime, Netron)",
    export_no_job: "Nothing to export yet: start a training first.",
    ringed: "A point with a black ring is one the network gets wrong.", add_class: "+ class", clear_points: "Clear", draw_how: "Pick a class, then click on the picture to add a point of it.",
    draw_class: "draw points of class {name}",
    csv_hint: "Choose a CSV file above: one point per line, x1, x2 and a label (any number of classes; a header line is optional).",
    draw_hint: "Click on the picture to add points (at least 2); pick the class first, add classes with “+ class”.",
    csv_loaded: "{n} points, {k} classes", csv_too_big: "{name} is {size} bytes; a CSV file may have at most {limit} bytes.",
    csv_unreadable: "The file could not be read.", draw_full: "There are {n} points already, the most a data set may have.",
    filter_of: "the weights into hidden unit {k}", output_of: "the output of {layer} (and its gradient)",
    heat_value: "{name}: values", heat_grad: "{name}: gradient (dL/d{name})",
    axes_weight: "rows: {rows} inputs · columns: {cols} units", axes_bias: "{cols} units",
    axes_output: "rows: {rows} samples · columns: {cols} units", subsampled: "every k-th shown ({rows} × {cols})",
    inputs: "Inputs", outputs: "Output", check: "Check", branch_sums: "Branch sums",
    no_branch: "no value is used more than once", rules: "Rules of the nodes",
    first: "|◀", prev: "◀ Previous", next: "Next ▶", last: "▶|", step_of: "Step {i} / {n}",
    graph_hint: "Forward values (blue) above the edges, gradients (red) below. Keys: → ← step, + − zoom.",
    grad: "grad", check_ok: "✓ numerical gradient {numeric} (relative error {e})",
    check_bad: "✗ the numerical gradient is {numeric} (relative error {e})",
    numeric: "numerical", dataset: "Data", moons: "two moons", circles: "circles", spirals: "spirals",
    hidden: "Hidden layers", activation: "Activation", optimizer: "Optimizer", lr: "Learning rate",
    batch: "Batch", speed: "Steps/s", reset: "Reset", start: "Start", pause: "Pause", single: "Step",
    step: "step", loss: "loss", accuracy: "accuracy", test_accuracy: "test",
    boundary: "Decision boundary: each region has the colour of the class the network predicts there", filters: "First-layer weights (28×28)", loss_curve: "Loss (log scale)", accuracy_curve: "Accuracy",
    norms: "Gradient norm ‖dW‖ per layer (log scale)",
    network: "Network — click a weight or an edge between layers to see that tensor and its gradient", value: "value", gradient: "gradient",
    shape: "shape", stats: "min {min}, max {max}, mean {mean}, std {std}",
    limits: "Limits: expression ≤ {expression_length} characters and depth ≤ {expression_depth}, ≤ {expression_names} inputs, tensors ≤ {tensor_elements} elements, data sets ≤ {toy_samples} points (CSV files ≤ {csv_kib} KiB, ≤ {classes} classes), MNIST ≤ {mnist_samples} images, ≤ {hidden_layers} hidden layers of ≤ {hidden_units} units, ≤ {jobs} training jobs at once.",
    disconnected: "The connection to the lab was closed (is layerprop lab still running?)",
    diverged: "Training diverged at step {step}: the loss blew up (past ten times its start, or no longer a number). The last good weights were put back; lower the learning rate and press Reset."
  },
  ko: {
    tab_graph: "계산 그래프", tab_train: "학습", other_language: "English",
    preset: "예제", preset_own: "(직접 입력한 수식)", preset_apple: "사과 (곱셈 계층)", preset_apple_orange: "사과와 오렌지",
    preset_sigmoid: "시그모이드: 노드 네 개와 하나로 합친 계층", preset_branch: "세 번 쓰인 값",
    preset_two_layer: "손실까지 있는 2층 신경망", draw: "그리기",
    expression: "수식 (이름과 =를 앞에 쓰면 출력 이름)", zoom_in: "확대", zoom_out: "축소", fit: "너비에 맞춤",
    fit_title: "그림을 상자 너비에 맞춥니다", share: "공유", share_title: "지금 이 화면을 여는 링크를 복사합니다 (상태는 링크의 # 뒤에 있습니다. 다른 lab에서는 “공유 링크 열기”나 layerprop lab --open으로 엽니다)",
    share_copied: "링크를 복사했습니다: 지금 이 화면을 그대로 엽니다.", share_select: "이 링크를 복사하세요: 지금 이 화면을 그대로 엽니다.",
    open_shared: "공유 링크 열기", open: "열기", open_placeholder: "공유 링크 열기: 여기에 붙여 넣으세요",
    open_title: "어느 lab에서든 공유 버튼으로 복사한 링크의 상태를 엽니다 (링크의 토큰, 호스트, 포트는 쓰지 않습니다)",
    open_done: "공유 링크를 열었습니다: 이 화면이 링크에 담긴 상태를 보여 줍니다.",
    open_not_link: "lab의 링크가 아닙니다: lab의 공유 버튼으로 복사한 링크(http://…/?token=…#…)나 그 # 뒷부분을 붙여 넣으세요.",
    open_no_state: "이 링크에는 lab의 상태가 없습니다: lab의 링크는 # 뒤에 상태를 담습니다 (tab=…&expr=…). lab의 공유 버튼으로 링크를 복사하세요.",
    open_too_long: "링크가 {n}자입니다 — lab은 최대 {limit}자까지의 링크를 엽니다.",
    check_summary_ok: "✓ 기울기 {n}개 모두 수치 미분과 일치 (가장 큰 상대 오차 {e})",
    check_summary_bad: "✗ 기울기 {n}개 중 {bad}개가 수치 미분과 다릅니다",
    csv: "내 CSV 파일", choose_file: "파일 고르기…", draw_points: "직접 찍은 점", upload: "CSV 파일 (x1, x2, 레이블)", seed: "시드",
    export: "내보내기:", export_model: "모델 파일", export_python: "Python 스크립트", export_onnx: "ONNX",
    export_model_title: "학습한 신경망을 layerprop 모델 파일(.npz)로: layerprop evaluate / predict / export로 읽습니다",
    export_python_title: "데이터, 신경망, 학습을 layerprop으로 다시 만드는 Python 스크립트",
    export_onnx_title: "학습한 신경망을 ONNX로 (ONNX Runtime, Netron)",
    export_no_job: "아직 내보낼 것이 없습니다: 먼저 학습을 시작하세요.",
    ringed: "검은 테두리가 있는 점은 신경망이 틀리게 분류한 점입니다.", add_class: "+ 클래스", clear_points: "지우기", draw_how: "클래스를 고른 다음 그림을 누르면 그 클래스의 점이 찍힙니다.",
    draw_class: "클래스 {name}의 점 찍기",
    csv_hint: "위에서 CSV 파일을 고르세요: 한 줄에 점 하나, x1, x2, 레이블 (클래스 수는 자유, 머리글 줄은 있어도 없어도 됩니다).",
    draw_hint: "그림을 눌러 점을 찍으세요 (2개 이상). 먼저 클래스를 고르고, “+ 클래스”로 클래스를 늘립니다.",
    csv_loaded: "점 {n}개, 클래스 {k}개", csv_too_big: "{name}은(는) {size}바이트입니다 — CSV 파일은 최대 {limit}바이트까지 쓸 수 있습니다.",
    csv_unreadable: "파일을 읽을 수 없습니다.", draw_full: "점이 이미 {n}개입니다 — 데이터 하나에 찍을 수 있는 최대 개수입니다.",
    filter_of: "은닉 뉴런 {k}로 들어가는 가중치", output_of: "{layer}의 출력 (과 그 기울기)",
    heat_value: "{name}: 값", heat_grad: "{name}: 기울기 (dL/d{name})",
    axes_weight: "행: 입력 {rows}개 · 열: 뉴런 {cols}개", axes_bias: "뉴런 {cols}개",
    axes_output: "행: 샘플 {rows}개 · 열: 뉴런 {cols}개", subsampled: "일부만 표시 ({rows} × {cols})",
    inputs: "입력", outputs: "출력", check: "검증", branch_sums: "분기 노드의 합",
    no_branch: "두 번 이상 쓰인 값이 없습니다", rules: "노드의 규칙",
    first: "|◀", prev: "◀ 이전", next: "다음 ▶", last: "▶|", step_of: "단계 {i} / {n}",
    graph_hint: "간선 위는 순전파 값(파랑), 아래는 기울기(빨강). 키: → ← 단계 이동, + − 확대/축소.",
    grad: "기울기", check_ok: "✓ 수치 미분 {numeric} (상대 오차 {e})",
    check_bad: "✗ 수치 미분은 {numeric} (상대 오차 {e})",
    numeric: "수치 미분", dataset: "데이터", moons: "두 개의 반달", circles: "동심원", spirals: "나선",
    hidden: "은닉층", activation: "활성화 함수", optimizer: "최적화 기법", lr: "학습률",
    batch: "배치 크기", speed: "초당 단계", reset: "초기화", start: "시작", pause: "일시 정지", single: "한 단계",
    step: "단계", loss: "손실", accuracy: "정확도", test_accuracy: "시험 정확도",
    boundary: "결정 경계: 신경망이 예측하는 클래스의 색으로 칠한 영역", filters: "첫 층의 가중치 (28×28)", loss_curve: "손실 (로그 눈금)", accuracy_curve: "정확도",
    norms: "층별 기울기 크기 ‖dW‖ (로그 눈금)",
    network: "신경망 — 가중치나 층 사이의 간선을 누르면 그 텐서와 기울기를 보여 줍니다", value: "값", gradient: "기울기",
    shape: "모양", stats: "최솟값 {min}, 최댓값 {max}, 평균 {mean}, 표준편차 {std}",
    limits: "제한: 수식은 {expression_length}자, 깊이 {expression_depth} 이하, 입력 {expression_names}개 이하, 텐서는 원소 {tensor_elements}개 이하, 데이터는 {toy_samples}점(CSV 파일은 {csv_kib} KiB, 클래스 {classes}개) 이하, MNIST는 {mnist_samples}장 이하, 은닉층 {hidden_layers}개(각 {hidden_units}개 뉴런) 이하, 동시에 학습 {jobs}개까지.",
    disconnected: "lab과의 연결이 끊어졌습니다 (layerprop lab이 아직 실행 중인가요?)",
    diverged: "{step}단계에서 학습이 발산했습니다: 손실이 폭발했습니다 (처음의 10배를 넘었거나 더 이상 수가 아닙니다). 마지막으로 괜찮았던 가중치로 되돌렸습니다. 학습률을 낮추고 초기화를 누르세요."
  }
};

/* The text of `key` in `lang` (English where a word is missing), with {name} replaced from `args`. */
function labText(lang, key, args) {
  var words = LAB_WORDS[lang] || LAB_WORDS.en;
  var text = words[key] || LAB_WORDS.en[key] || key;
  if (args) Object.keys(args).forEach(function (k) { text = text.split("{" + k + "}").join(args[k]); });
  return text;
}

/* Put the words of `lang` into the elements under `root` that name them (data-i18n, data-i18n-title,
   data-i18n-placeholder). */
function labTranslate(root, lang) {
  Array.prototype.forEach.call(root.querySelectorAll("[data-i18n]"), function (el) { el.textContent = labText(lang, el.getAttribute("data-i18n")); });
  Array.prototype.forEach.call(root.querySelectorAll("[data-i18n-title]"), function (el) { el.title = labText(lang, el.getAttribute("data-i18n-title")); });
  Array.prototype.forEach.call(root.querySelectorAll("[data-i18n-placeholder]"), function (el) { el.placeholder = labText(lang, el.getAttribute("data-i18n-placeholder")); });
}
