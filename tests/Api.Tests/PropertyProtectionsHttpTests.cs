using System.Text.Json;
using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>
/// Property protections through the whole HTTP stack: a server started with a rules file
/// (Glance:PropertyProtections:File) applies it to PATCH, create, the image view and the
/// /properties subresource alike.
/// </summary>
public sealed class PropertyProtectionsHttpTests : IAsyncLifetime
{
    private const string Rules = """
        [^x_admin_.*]
        create = admin
        read = admin
        update = admin
        delete = admin

        [.*]
        create = @
        read = @
        update = @
        delete = @
        """;

    private GlanceServer? _server;

    private GlanceClient Client => (_server ?? throw new InvalidOperationException("not started")).Client;

    public Task InitializeAsync()
    {
        _server = new GlanceServer(directory =>
        {
            var file = Path.Combine(directory, "property-protections.conf");
            File.WriteAllText(file, Rules);
            return new Dictionary<string, string?> { ["Glance:PropertyProtections:File"] = file };
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task With_a_rules_file_the_extension_is_listed()
    {
        var listed = Expect.Status(await Client.GetAsync("/v2/extensions/property-protections", Persona.P1), 200);
        using var extension = JsonDocument.Parse(listed.Text);
        Assert.Equal("behaviour", Expect.Str(extension.RootElement.GetProperty("extension"), "kind"));
    }

    [Fact]
    public async Task A_member_may_not_create_a_protected_name_and_never_sees_one_an_admin_set()
    {
        // Arrange: a public image of the admin's, visible to everyone.
        var image = await Client.CreateImageAsync(Persona.Admin, new { name = GlanceClient.Unique("prot"), visibility = "public" });
        var id = Expect.Str(image, "id");

        // Act + Assert: the member's own image refuses the reserved name, by PATCH and by PUT.
        var own = Expect.Str(await Client.CreateImageAsync(Persona.P1, new { name = GlanceClient.Unique("own") }), "id");
        Expect.Error(await Client.PatchAsync($"/v2/images/{own}", Persona.P1,
            """[{"op":"add","path":"/x_admin_note","value":"mine"}]"""), 403);
        Expect.Error(await Client.PutJsonAsync($"/v2/images/{own}/properties/x_admin_note", Persona.P1,
            """{"value":"mine"}"""), 403);
        Expect.Error(await Client.PostJsonAsync("/v2/images", Persona.P1,
            """{"name":"with-reserved","x_admin_note":"mine"}"""), 403);

        // The admin may set it, and an ordinary property next to it.
        Expect.Status(await Client.PatchAsync($"/v2/images/{id}", Persona.Admin,
            """[{"op":"add","path":"/x_admin_note","value":"secret"},{"op":"add","path":"/x_open","value":"shown"}]"""), 200);

        // The member sees the image and the open property, never the protected one: view, list, filter, subresource.
        var shown = await Client.ShowImageAsync(id, Persona.P1);
        Assert.Equal("shown", Expect.Str(shown, "x_open"));
        Assert.False(shown.TryGetProperty("x_admin_note", out _));
        Assert.Empty(await Client.ListIdsAsync(Persona.P1, "x_admin_note=secret"));
        Assert.Contains(id, await Client.ListIdsAsync(Persona.Admin, "x_admin_note=secret"));
        Expect.Error(await Client.GetAsync($"/v2/images/{id}/properties/x_admin_note", Persona.P1), 404);
        var listed = (await Client.GetAsync($"/v2/images/{id}/properties", Persona.P1)).Json
            .GetProperty("properties").EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToList();
        Assert.Contains("x_open", listed);
        Assert.DoesNotContain("x_admin_note", listed);

        // The admin still reads it.
        Assert.Equal("secret", Expect.Str(await Client.ShowImageAsync(id, Persona.Admin), "x_admin_note"));
    }
}
