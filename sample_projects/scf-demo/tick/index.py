# SCF timer function, declared in ../serverless.yml with cron `0 */5 * * * * *`.
#
#   funcstudio invoke sample_projects/scf-demo tick --event timer
#
# The Timer event is {"Type": "Timer", "TriggerName": ..., "Time": "...Z", "Message": ...}; the
# environment has TRIGGER_SRC=timer. The return value goes only to the log (timers are async).
import logging
import os

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def main_handler(event, context):
    logger.info("timer %s fired at %s", event.get("TriggerName"), event.get("Time"))
    if os.environ.get("TRIGGER_SRC") != "timer":
        print("invoked directly, not by the timer")
    return {"checked": True, "report_to": os.environ.get("REPORT_TO"), "message": event.get("Message", "")}
