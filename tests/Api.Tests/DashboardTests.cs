using System.Text.Json;
using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>
/// The Orleans Dashboard (<c>Glance:Dashboard:Enabled</c>): served at <c>/dashboard/</c> on a
/// loopback port of its own, with the live numbers of the cluster; not on the API's port, for no
/// caller (admin or not), and the dashboard's port serves nothing of the API.
/// </summary>
public sealed class DashboardTests
{
    [Fact]
    public async Task The_dashboard_answers_on_its_own_port_and_not_on_the_APIs()
    {
        using var data = new TempDirectory();
        var port = GlanceFactory.FreeTcpPort();
        await using var service = await ServiceProcess.StartAsync(Path.Combine(data.Path, "data"), new Dictionary<string, string>
        {
            ["Glance:Dashboard:Enabled"] = "true",
            ["Glance:Dashboard:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var api = service.Client;
        await api.CreateImageAsync(Persona.P1, new { name = "seen by the dashboard" });
        using var dashboard = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}"),
            Timeout = TimeSpan.FromSeconds(30),
        };

        using (var root = await dashboard.GetAsync("/"))
        {
            Assert.Equal(302, (int)root.StatusCode);
            Assert.Equal("/dashboard/", root.Headers.Location?.OriginalString);
        }
        using (var page = await dashboard.GetAsync("/dashboard/"))
        {
            Assert.Equal(200, (int)page.StatusCode);
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            Assert.Contains("index.min.js", await page.Content.ReadAsStringAsync());
        }
        // Its data: the cluster's one silo, live. The dashboard gathers its counters on a timer, so
        // its first answers may come before the first gathering (no hosts yet): ask for 20 s.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            using var counters = await dashboard.GetAsync("/dashboard/DashboardCounters");
            var text = await counters.Content.ReadAsStringAsync();
            Assert.Equal(200, (int)counters.StatusCode);
            using var json = JsonDocument.Parse(text);
            if (json.RootElement.GetProperty("totalActiveHostCount").GetInt32() >= 1)
            {
                break;
            }
            Assert.True(DateTime.UtcNow < deadline, $"no live silo on the dashboard after 20 s: {text}");
            await Task.Delay(500);
        }
        // The dashboard's port is the dashboard only.
        using (var images = await dashboard.GetAsync("/v2/images"))
        {
            Assert.Equal(404, (int)images.StatusCode);
        }

        // The API's port has no dashboard, whoever asks.
        foreach (var caller in new Persona?[] { null, Persona.P1, Persona.Admin })
        {
            Expect.Error(await api.GetAsync("/dashboard/", caller), 404);
            Expect.Error(await api.GetAsync("/dashboard/DashboardCounters", caller), 404);
        }
        Expect.Status(await api.GetAsync("/healthz", null), 200);
    }
}
