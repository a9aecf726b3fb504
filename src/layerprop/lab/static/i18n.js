/* layerprop lab: the words of the page in English and Korean. The layers' rules come from the
   server in both languages (each layer states them once, as class attributes). */
window.LAB_WORDS = {
  en: {
    tab_graph: "Graph", tab_train: "Train", other_language: "한국어",
    preset: "Preset", preset_own: "(your expression)", preset_apple: "Apples (MulLayer)", preset_apple_orange: "Apples and oranges",
    preset_sigmoid: "Sigmoid: four nodes and the fused layer", preset_branch: "A value used three times",
    preset_two_layer: "Two-layer network with a loss", expression: "Expression", draw: "Draw",
    inputs: "Inputs", outputs: "Output", check: "Check", branch_sums: "Branch sums",
    no_branch: "no value is used more than once", rules: "Rules of the nodes",
    first: "|◀", prev: "◀ Previous", next: "Next ▶", last: "▶|", step_of: "Step {i} / {n}",
    graph_hint: "Forward values (blue) above the edges, gradients (red) below. Keys: → ← step, + − zoom.",
    grad: "grad", check_ok: "✓ matches the numerical gradient (relative error {e})",
    check_bad: "✗ differs from the numerical gradient (relative error {e})",
    numeric: "numerical", dataset: "Data", moons: "two moons", circles: "circles", spirals: "spirals",
    hidden: "Hidden layers", activation: "Activation", optimizer: "Optimizer", lr: "Learning rate",
    batch: "Batch", speed: "Steps/s", reset: "Reset", start: "Start", pause: "Pause", single: "Step",
    step: "step", loss: "loss", accuracy: "accuracy", test_accuracy: "test",
    boundary: "Decision boundary", filters: "First-layer weights (28×28)", loss_curve: "Loss (log scale)", accuracy_curve: "Accuracy",
    norms: "Gradient norm ‖dW‖ per layer (log scale)",
    network: "Network — click a weight or an edge between layers to see that tensor and its gradient", value: "value", gradient: "gradient",
    shape: "shape", stats: "min {min}, max {max}, mean {mean}, std {std}",
    limits: "Limits: expression ≤ {expression_length} characters and depth ≤ {expression_depth}, ≤ {expression_names} inputs, tensors ≤ {tensor_elements} elements, toy sets ≤ {toy_samples} points, MNIST ≤ {mnist_samples} images, ≤ {hidden_layers} hidden layers of ≤ {hidden_units} units, ≤ {jobs} training jobs at once.",
    disconnected: "The connection to the lab was closed (is layerprop lab still running?)"
  },
  ko: {
    tab_graph: "계산 그래프", tab_train: "학습", other_language: "English",
    preset: "예제", preset_own: "(직접 입력한 수식)", preset_apple: "사과 (곱셈 계층)", preset_apple_orange: "사과와 오렌지",
    preset_sigmoid: "시그모이드: 노드 네 개와 하나로 합친 계층", preset_branch: "세 번 쓰인 값",
    preset_two_layer: "손실까지 있는 2층 신경망", expression: "수식", draw: "그리기",
    inputs: "입력", outputs: "출력", check: "검증", branch_sums: "분기 노드의 합",
    no_branch: "두 번 이상 쓰인 값이 없습니다", rules: "노드의 규칙",
    first: "|◀", prev: "◀ 이전", next: "다음 ▶", last: "▶|", step_of: "단계 {i} / {n}",
    graph_hint: "간선 위는 순전파 값(파랑), 아래는 기울기(빨강). 키: → ← 단계 이동, + − 확대/축소.",
    grad: "기울기", check_ok: "✓ 수치 미분과 일치 (상대 오차 {e})",
    check_bad: "✗ 수치 미분과 다름 (상대 오차 {e})",
    numeric: "수치 미분", dataset: "데이터", moons: "두 개의 반달", circles: "동심원", spirals: "나선",
    hidden: "은닉층", activation: "활성화 함수", optimizer: "최적화 기법", lr: "학습률",
    batch: "배치 크기", speed: "초당 단계", reset: "초기화", start: "시작", pause: "일시 정지", single: "한 단계",
    step: "단계", loss: "손실", accuracy: "정확도", test_accuracy: "시험",
    boundary: "결정 경계", filters: "첫 층의 가중치 (28×28)", loss_curve: "손실 (로그 눈금)", accuracy_curve: "정확도",
    norms: "층별 기울기 크기 ‖dW‖ (로그 눈금)",
    network: "신경망 — 가중치나 층 사이의 간선을 누르면 그 텐서와 기울기를 보여 줍니다", value: "값", gradient: "기울기",
    shape: "모양", stats: "최솟값 {min}, 최댓값 {max}, 평균 {mean}, 표준편차 {std}",
    limits: "제한: 수식은 {expression_length}자, 깊이 {expression_depth} 이하, 입력 {expression_names}개 이하, 텐서는 원소 {tensor_elements}개 이하, 장난감 데이터는 {toy_samples}점, MNIST는 {mnist_samples}장 이하, 은닉층 {hidden_layers}개(각 {hidden_units}개 뉴런) 이하, 동시에 학습 {jobs}개까지.",
    disconnected: "lab과의 연결이 끊어졌습니다 (layerprop lab이 아직 실행 중인가요?)"
  }
};
