from django.urls import path

from resource_server.views import MineByIntrospection, MineByJWT

urlpatterns = [
    path("orders/mine", MineByJWT.as_view()),
    path("orders/mine/introspected", MineByIntrospection.as_view()),
]
