// The rows each panel shows: filtered by UiState::filter and sorted by the
// panel's sort column, ties in natural order (worker then index, job id).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "tools/top/snapshot.h"
#include "tools/top/ui_state.h"

namespace moai::top {

// Names of the sortable columns, in the order < and > step through them.
const std::vector<std::string>& sortColumns(Panel panel);
const char* panelName(Panel panel);
std::optional<Panel> panelFromName(const std::string& name);

std::vector<const DeviceRow*> visibleDevices(const Snapshot& s, const UiState& ui);
std::vector<const JobRow*> visibleJobs(const Snapshot& s, const UiState& ui);
std::vector<const WorkerRow*> visibleWorkers(const Snapshot& s, const UiState& ui);

// The row shown selected in `panel`: the one whose key is selected_key while
// it is shown, else ui.selected clamped; -1 when the panel is empty.
int selectedRow(const Snapshot& s, const UiState& ui, Panel panel);
// Selects `row` (clamped) and remembers its key.
void selectRow(const Snapshot& s, UiState& ui, Panel panel, int row);

// The selected row's job or worker, for the actions.
std::optional<uint64_t> selectedJob(const Snapshot& s, const UiState& ui);
std::optional<std::string> selectedWorker(const Snapshot& s, const UiState& ui);

}  // namespace moai::top
