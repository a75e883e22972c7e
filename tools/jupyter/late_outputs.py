"""nbconvert's ExecutePreprocessor, waiting a moment past a cell's idle status for outputs.

Deno's Jupyter kernel sometimes publishes a cell's execute_result just after the status message
that marks the cell idle; nbclient stops collecting at idle and drops it. This preprocessor keeps
reading that cell's messages for GRACE_S seconds after idle (`deno task notebooks` uses it).
"""

from queue import Empty

from nbclient.exceptions import CellExecutionComplete
from nbclient.util import ensure_async
from nbconvert.preprocessors import ExecutePreprocessor

GRACE_S = 1.0


class LateOutputExecutePreprocessor(ExecutePreprocessor):
    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        while True:
            msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))
            if msg["parent_header"].get("msg_id") != parent_msg_id:
                continue
            try:
                self.process_message(msg, cell, cell_index)
            except CellExecutionComplete:
                break
        while True:
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=GRACE_S))
            except Empty:
                return
            if msg["parent_header"].get("msg_id") != parent_msg_id:
                continue
            self.log.warning("output of cell %d arrived after its idle status", cell_index)
            try:
                self.process_message(msg, cell, cell_index)
            except CellExecutionComplete:
                pass
