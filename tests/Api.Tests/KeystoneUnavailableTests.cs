using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>
/// Keystone that does not answer: nothing listening on its port, or a server that accepts and
/// then says nothing. A request with a token gets 503 in Glance's JSON shape, within the
/// configured timeout; no real Keystone is needed for that.
/// </summary>
public sealed class KeystoneUnavailableTests
{
    [Fact]
    public async Task Keystone_down_is_503_json()
    {
        await using var server = new GlanceServer(_ => KeystoneFixture.Settings(
            $"http://127.0.0.1:{GlanceFactory.FreeTcpPort()}/v3", "glance", "glance", cacheSeconds: 300));
        var clock = Stopwatch.StartNew();

        var response = await Get(server.Client, "some-token");

        Assert503(response);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        // No token at all is refused without asking Keystone: still 401.
        Expect.Error(await server.Client.GetAsync("/v2/images", null), 401);
        // Discovery does not depend on Keystone.
        Expect.Status(await server.Client.GetAsync("/versions", null), 200);
    }

    [Fact]
    public async Task A_keystone_that_never_answers_is_503_after_the_timeout_not_a_hang()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new List<Socket>();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    accepted.Add(await silent.AcceptSocketAsync());
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // listener stopped
            }
        });
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        await using var server = new GlanceServer(_ => KeystoneFixture.Settings(
            $"http://127.0.0.1:{port}/v3", "glance", "glance", cacheSeconds: 300, timeoutSeconds: 2));
        var clock = Stopwatch.StartNew();

        var response = await Get(server.Client, "some-token");

        Assert503(response);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.5) && clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.NotEmpty(accepted);
        silent.Stop();
        await accepting;
        accepted.ForEach(s => s.Dispose());
    }

    private static Task<ApiResponse> Get(GlanceClient api, string token) =>
        api.SendAsync(HttpMethod.Get, "/v2/images", null, null, new Dictionary<string, string> { ["X-Auth-Token"] = token });

    private static void Assert503(ApiResponse response)
    {
        Expect.Status(response, 503);
        Assert.Equal("application/json", response.MediaType);
        Assert.Equal("503 Service Unavailable", Expect.Str(response.Json, "code"));
        Assert.Equal("Service Unavailable", Expect.Str(response.Json, "title"));
        Assert.Equal("The Keystone service is temporarily unavailable.", Expect.Str(response.Json, "message"));
        Expect.RequestId(response);
    }
}
