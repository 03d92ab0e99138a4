using System.Security.Cryptography;
using System.Text.Json;
using Glance.Api.Tests.Support;
using Glance.Browser.Tests.Support;
using Microsoft.Playwright;

namespace Glance.Browser.Tests;

/// <summary>
/// The web console (issue 13, item 5) as a person uses it, in a real headless Chromium against
/// the real service with its default identity (a developer machine: no headers): create an
/// image, upload a file and watch the progress bar reach 100%, find it in the list, open it,
/// change a property, its name, a tag, deactivate and reactivate it, delete it with confirmation.
/// Each step is checked against the API too; each page's screenshot is written.
/// </summary>
public sealed class ConsoleTests
{
    [BrowserFact]
    public async Task A_person_creates_uploads_finds_edits_and_deletes_an_image()
    {
        await using var session = await BrowserSession.StartAsync();
        var page = session.Page;
        var api = session.Server.Client;
        // The service is this test's own (a fresh data directory): names need not be unique.
        const string name = "cirros-0.6.3";

        // Some other images, so the list has something to filter out.
        foreach (var other in new[] { "debian-12-genericcloud", "ubuntu-24.04-server", "fedora-41-cloud" })
        {
            await api.CreateImageAsync(null, new { name = other, disk_format = "qcow2", container_format = "bare", visibility = "public" });
        }

        // 24 MiB from a file on disk: the browser streams it, so upload progress events arrive while it is sent.
        using var directory = new TempDirectory();
        var file = Path.Combine(directory.Path, "disk.raw");
        var content = RandomNumberGenerator.GetBytes(24 << 20);
        await File.WriteAllBytesAsync(file, content);

        await page.GotoAsync(session.BaseUrl + "/console");
        await See(page.Locator("body[data-view=list]"));
        await page.ClickAsync("#nav-new");
        await page.FillAsync("#new-name", name);
        await page.SelectOptionAsync("#create select[name=disk_format]", "raw");
        await page.SetInputFilesAsync("#new-file", file);
        // Every value the bar takes, as the page sets it, and the browser's own upload progress
        // events (so the 100% comes from bytes sent, not from the upload's end alone).
        await page.EvaluateAsync("""
            () => {
              window.uploadEvents = [];
              const send = XMLHttpRequest.prototype.send;
              XMLHttpRequest.prototype.send = function (body) {
                this.upload.addEventListener('progress', e => window.uploadEvents.push([e.loaded, e.total]));
                return send.call(this, body);
              };
              window.progressSeen = [];
              const bar = document.querySelector('#upload-progress');
              new MutationObserver(() => window.progressSeen.push(Number(bar.value))).observe(bar, { attributes: true });
            }
            """);
        await Assertions.Expect(page.Locator("#upload-open")).ToBeHiddenAsync();
        await page.ClickAsync("#create-button");
        await See(page.Locator("#upload-percent"), "100%");
        await See(page.Locator("#upload-open"));
        var seen = await page.EvaluateAsync<double[]>("() => window.progressSeen");
        var events = await page.EvaluateAsync<long[][]>("() => window.uploadEvents");
        Assert.NotEmpty(events);
        Assert.Equal([content.Length, content.Length], events[^1]);
        Assert.All(events, e => Assert.Equal(content.Length, e[1]));
        Assert.Equal(100, seen[^1]);
        Assert.Equal(100, await page.EvalOnSelectorAsync<double>("#upload-progress", "bar => bar.value"));
        Assert.True(seen.Zip(seen.Skip(1)).All(pair => pair.First <= pair.Second), $"progress went back: {string.Join(",", seen)}");
        await Screenshots.TakeAsync(page, "console-upload");

        // The service has the bytes, whole.
        var listed = await api.ListIdsAsync(null, $"name={Uri.EscapeDataString(name)}");
        var id = Assert.Single(listed);
        var image = await api.ShowImageAsync(id, null);
        Assert.Equal("active", Expect.Str(image, "status"));
        Assert.Equal(content.Length, image.GetProperty("size").GetInt64());
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(content)), Expect.Str(image, "checksum"));

        // Find it in the list with the name filter, and open it.
        await page.ClickAsync("text=Images");
        // The three others and this one (the list re-renders when its fetch answers: wait for it).
        await See(page.Locator("#images tbody tr"), count: 4);
        await Screenshots.TakeAsync(page, "console-list");
        // Sort by name and page two at a time: the list API's sort_key/sort_dir, limit and next link.
        await page.SelectOptionAsync("#filters select[name=sort_key]", "name");
        await page.SelectOptionAsync("#filters select[name=sort_dir]", "asc");
        await page.FillAsync("#filters input[name=limit]", "2");
        await page.ClickAsync("#apply-filters");
        await See(page.Locator("#images tbody tr"), count: 2);
        await See(page.Locator("#images tbody tr a").First, "cirros-0.6.3");
        await page.ClickAsync("#next-page");
        await See(page.Locator("#page-number"), "page 2");
        await See(page.Locator("#images tbody tr a").First, "fedora-41-cloud");
        await See(page.Locator("#images tbody tr a").Nth(1), "ubuntu-24.04-server");
        await page.ClickAsync("#prev-page");
        await See(page.Locator("#images tbody tr a").Nth(1), "debian-12-genericcloud");
        await page.ClickAsync("#reset-filters");
        await See(page.Locator("#images tbody tr"), count: 4);
        await page.FillAsync("#filters input[name=name]", name);
        await page.ClickAsync("#apply-filters");
        await See(page.Locator("#images tbody tr"), count: 1);
        var row = page.Locator($"#images tbody tr[data-id='{id}']");
        await See(row.Locator(".status-active"));
        await row.Locator("a").ClickAsync();
        await See(page.Locator("#image-title"), name);
        await See(page.Locator("[data-attribute=size]"), content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), exact: false);
        Assert.Equal($"/v2/images/{id}/file", await page.GetAttributeAsync("#download", "href"));
        // The download link gives the bytes back.
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("#download"));
        var downloaded = await download.PathAsync();
        Assert.Equal(MD5.HashData(content), MD5.HashData(await File.ReadAllBytesAsync(downloaded)));

        // A typed property (set through the API) shows with its attributes.
        Expect.Status(await api.PutJsonAsync($"/v2/images/{id}/properties/hw_cpu_cores", null,
            """{"value":4,"type":"integer","description":"virtual CPUs"}"""), 201);

        // Change a property.
        await page.FillAsync("#property-key", "os_distro");
        await page.FillAsync("#property-value", "cirros");
        await page.ClickAsync("#set-property");
        await See(page.Locator("[data-property=os_distro]"), "cirros", exact: false);
        Assert.Equal("cirros", Expect.Str(await api.ShowImageAsync(id, null), "os_distro"));
        var typed = page.Locator("[data-typed=hw_cpu_cores]");
        await See(typed, "integer", exact: false);
        Assert.Contains("virtual CPUs", await typed.InnerTextAsync());

        // Name, visibility and a tag.
        await page.FillAsync("#edit-name", name + "-renamed");
        await page.SelectOptionAsync("#edit-visibility", "private");
        await page.ClickAsync("#save");
        await See(page.Locator("#image-title"), name + "-renamed");
        await page.FillAsync("#new-tag", "console-tag");
        await page.ClickAsync("#add-tag button");
        await See(page.Locator("[data-tag=console-tag]"));
        image = await api.ShowImageAsync(id, null);
        Assert.Equal(name + "-renamed", Expect.Str(image, "name"));
        Assert.Equal("private", Expect.Str(image, "visibility"));
        Assert.Contains("console-tag", image.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        await Screenshots.TakeAsync(page, "console-image");

        // Deactivate (confirmed), then reactivate.
        await page.ClickAsync("#deactivate");
        await page.ClickAsync("#confirm-ok");
        await See(page.Locator("[data-attribute=status] .status-deactivated"));
        Assert.Equal("deactivated", Expect.Str(await api.ShowImageAsync(id, null), "status"));
        await page.ClickAsync("#reactivate");
        await page.ClickAsync("#confirm-ok");
        await See(page.Locator("[data-attribute=status] .status-active"));

        // Delete: cancelling keeps it; confirming deletes it and returns to the list.
        await page.ClickAsync("#delete");
        await See(page.Locator("#confirm-text"), "cannot be undone", exact: false);
        await page.ClickAsync("#confirm-cancel");
        Assert.Equal("active", Expect.Str(await api.ShowImageAsync(id, null), "status"));
        await page.ClickAsync("#delete");
        await page.ClickAsync("#confirm-ok");
        await See(page.Locator("body[data-view=list]"));
        await See(page.Locator("#notice"), "Deleted", exact: false);
        Expect.Error(await api.GetAsync($"/v2/images/{id}", null), 404);
        Assert.Equal(0, await page.Locator($"#images tbody tr[data-id='{id}']").CountAsync());

        Assert.True(session.Errors.Count == 0, string.Join("\n", session.Errors));
    }

    [BrowserFact]
    public async Task Without_a_default_identity_the_console_loads_and_its_api_calls_are_refused()
    {
        await using var session = await BrowserSession.StartAsync(new() { ["Glance:Identity:UseDefaultIdentity"] = "false" });
        var page = session.Page;
        await page.GotoAsync(session.BaseUrl + "/console/");
        await See(page.Locator("#error"), "401", exact: false);
        Assert.Contains("requires authentication", await page.InnerTextAsync("#error"));
        // A token is sent as X-Auth-Token on the calls from then on.
        await page.FillAsync("#token", "a-token");
        var request = await page.RunAndWaitForRequestAsync(() => page.ClickAsync("#identity button"),
            r => r.Url.Contains("/v2/images", StringComparison.Ordinal));
        Assert.Equal("a-token", request.Headers.GetValueOrDefault("x-auth-token"));
        await See(page.Locator("#identity-state"), "token set");
        await See(page.Locator("#error"), "401", exact: false);
    }

    [BrowserFact]
    public async Task An_images_page_shows_its_members_and_import_tasks()
    {
        await using var session = await BrowserSession.StartAsync();
        var page = session.Page;
        var api = session.Server.Client;
        var image = await api.CreateImageAsync(null, new { name = "shared-and-imported", disk_format = "raw", container_format = "bare", visibility = "shared" });
        var id = Expect.Str(image, "id");
        Expect.Status(await api.PostJsonAsync($"/v2/images/{id}/members", null, """{"member":"project-b"}"""), 200);
        var octets = new ByteArrayContent(new byte[4096]);
        octets.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        Expect.Status(await api.SendAsync(HttpMethod.Put, $"/v2/images/{id}/stage", null, octets), 204);
        Expect.Status(await api.PostJsonAsync($"/v2/images/{id}/import", null, """{"method":{"name":"glance-direct"}}"""), 202);

        await page.GotoAsync($"{session.BaseUrl}/console/#/image/{id}");
        await See(page.Locator("#members tbody tr"), "project-b", exact: false);
        await See(page.Locator("#members tbody tr .status-pending"));
        var task = page.Locator("#tasks tbody tr");
        await See(task, "api_image_import", exact: false);
        Assert.True(session.Errors.Count == 0, string.Join("\n", session.Errors));
    }

    [BrowserFact]
    public async Task The_console_shows_the_services_error_message()
    {
        await using var session = await BrowserSession.StartAsync();
        var page = session.Page;
        await page.GotoAsync($"{session.BaseUrl}/console/#/image/{Guid.NewGuid()}");
        await See(page.Locator("#error"), "404", exact: false);
        Assert.Contains("No image found", await page.InnerTextAsync("#error"));
    }

    private static Task See(ILocator locator, string? text = null, bool exact = true, int? count = null)
    {
        var expect = Assertions.Expect(count is { } n ? locator : locator.First);
        return count is { } c ? expect.ToHaveCountAsync(c)
            : text is null ? expect.ToBeVisibleAsync()
            : exact ? expect.ToHaveTextAsync(text) : expect.ToContainTextAsync(text);
    }
}
