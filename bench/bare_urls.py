from django.urls import path

from bench.floor import CodeRequestFloor, OpenView, VerifyFloor

urlpatterns = [
    path("bench/open", OpenView.as_view()),
    path("healthz", OpenView.as_view()),
    path("bench/code-request", CodeRequestFloor.as_view()),
    path("bench/verify", VerifyFloor.as_view()),
]
