using System.Net;
using System.Text.Json.Nodes;
using Glance.Cluster.Tests.Support;

namespace Glance.Cluster.Tests;

/// <summary>
/// A stateless API node (no silo inside) binds the settings its own checks read, not only the
/// silos: the tasks API's access roles (<c>Glance:Tasks:AccessRoles</c>, admin and observer in this
/// cluster) decide the API node's answers before any grain is called. Unbound there, the node would
/// fall back to the default (admin only) and refuse an observer the silos let in.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ApiNodeSettingsTests(ClusterFixture fixture)
{
    [Theory]
    [InlineData("observer", HttpStatusCode.NotFound, HttpStatusCode.MethodNotAllowed)]
    [InlineData("member", HttpStatusCode.Forbidden, HttpStatusCode.Forbidden)]
    public async Task The_tasks_access_roles_hold_on_every_api_node(string role, HttpStatusCode showMalformed, HttpStatusCode delete)
    {
        foreach (var node in fixture.Cluster.ApiNodes.Values)
        {
            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = node, Timeout = ImagesHttp.RequestTimeout };
            // Both answered by the API node itself: a malformed task id names no task, and tasks cannot be deleted.
            var (status, body) = await SendAsync(http, HttpMethod.Get, "/v2/tasks/not-a-task", role);
            Assert.True(status == showMalformed, $"{node} GET as {role}: {(int)status} {body}");
            (status, body) = await SendAsync(http, HttpMethod.Delete, $"/v2/tasks/{Guid.NewGuid()}", role);
            Assert.True(status == delete, $"{node} DELETE as {role}: {(int)status} {body}");
            // Through the grains (the silos' copy of the setting): listing passes or fails the same way.
            (status, body) = await SendAsync(http, HttpMethod.Get, "/v2/tasks", role);
            Assert.True(status == (role == "observer" ? HttpStatusCode.OK : HttpStatusCode.Forbidden), $"{node} list as {role}: {(int)status} {body}");
            if (status == HttpStatusCode.OK)
            {
                Assert.NotNull(JsonNode.Parse(body)?["tasks"]?.AsArray());
            }
        }
    }

    private static async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpClient http, HttpMethod method, string path, string role)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Add("X-Project-Id", "settings-project");
        request.Headers.Add("X-User-Id", "settings-user");
        request.Headers.Add("X-Roles", role);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
